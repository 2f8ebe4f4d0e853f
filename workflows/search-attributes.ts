import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/**
 * Custom search attributes, set when a workflow starts (free, unlike an upsert) so the
 * Temporal Web UI can filter message workflows: e.g. `PosthornTenant = "acme"`.
 */
export const TENANT = defineSearchAttributeKey('PosthornTenant', SearchAttributeType.KEYWORD);
export const SENDING_DOMAIN = defineSearchAttributeKey('PosthornSendingDomain', SearchAttributeType.KEYWORD);
export const MESSAGE_TYPE = defineSearchAttributeKey('PosthornMessageType', SearchAttributeType.KEYWORD);

/** Set on IP workflows at start, and on message workflows after their first routed attempt. */
export const SENDING_IP = defineSearchAttributeKey('PosthornSendingIp', SearchAttributeType.KEYWORD);
/** Mailbox provider of a message's recipient domain (provider detection). */
export const PROVIDER = defineSearchAttributeKey('PosthornProvider', SearchAttributeType.KEYWORD);

export const ALL_SEARCH_ATTRIBUTES = [TENANT, SENDING_DOMAIN, MESSAGE_TYPE, SENDING_IP, PROVIDER] as const;
