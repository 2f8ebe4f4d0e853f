import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/**
 * Custom search attributes, set when a workflow starts (free, unlike an upsert) so the
 * Temporal Web UI can filter message workflows: e.g. `PosthornTenant = "acme"`.
 */
export const TENANT = defineSearchAttributeKey('PosthornTenant', SearchAttributeType.KEYWORD);
export const SENDING_DOMAIN = defineSearchAttributeKey('PosthornSendingDomain', SearchAttributeType.KEYWORD);
export const MESSAGE_TYPE = defineSearchAttributeKey('PosthornMessageType', SearchAttributeType.KEYWORD);

export const ALL_SEARCH_ATTRIBUTES = [TENANT, SENDING_DOMAIN, MESSAGE_TYPE] as const;
