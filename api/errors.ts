/**
 * Resend's error contract: every error body is exactly {statusCode, name, message}, with
 * a name from the SDK's RESEND_ERROR_CODE_KEY union (Resend API reference,
 * resend.com/docs/api-reference/errors).
 */
export type ErrorName =
  | 'invalid_idempotency_key'
  | 'validation_error'
  | 'missing_api_key'
  | 'restricted_api_key'
  | 'invalid_api_key'
  | 'not_found'
  | 'method_not_allowed'
  | 'invalid_idempotent_request'
  | 'concurrent_idempotent_requests'
  | 'invalid_attachment'
  | 'invalid_from_address'
  | 'invalid_access'
  | 'invalid_region'
  | 'invalid_parameter'
  | 'missing_required_field'
  | 'daily_quota_exceeded'
  | 'monthly_quota_exceeded'
  | 'rate_limit_exceeded'
  | 'application_error'
  | 'internal_server_error';

export class ApiError extends Error {
  constructor(
    readonly statusCode: number,
    readonly errorName: ErrorName,
    message: string,
  ) {
    super(message);
  }

  toBody() {
    return { statusCode: this.statusCode, name: this.errorName, message: this.message };
  }
}

export const notFound = (what: string) => new ApiError(404, 'not_found', `${what} not found`);

/**
 * The first problem zod found, as Resend words a field error ("Invalid `to` field: …");
 * a problem with no field path is given as zod words it.
 */
export function zodMessage(issues: readonly { path: PropertyKey[]; message: string }[]): string {
  const first = issues[0];
  if (!first) return 'We found an error with one or more fields in the request.';
  const field = first.path.map(String).join('.');
  return field ? `Invalid \`${field}\` field: ${first.message}` : first.message;
}
