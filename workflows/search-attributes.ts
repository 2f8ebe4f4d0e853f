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

/**
 * Set on delivery waves (one workflow carrying the first attempt of many messages): the
 * ids of its messages, and their tenants and sending domains, so that the Web UI finds a
 * message's wave with `PosthornMessageIds = "<id>"`.
 */
export const MESSAGE_IDS = defineSearchAttributeKey('PosthornMessageIds', SearchAttributeType.KEYWORD_LIST);
export const TENANTS = defineSearchAttributeKey('PosthornTenants', SearchAttributeType.KEYWORD_LIST);
export const SENDING_DOMAINS = defineSearchAttributeKey(
  'PosthornSendingDomains',
  SearchAttributeType.KEYWORD_LIST,
);

export const ALL_SEARCH_ATTRIBUTES = [
  TENANT,
  SENDING_DOMAIN,
  MESSAGE_TYPE,
  SENDING_IP,
  PROVIDER,
  MESSAGE_IDS,
  TENANTS,
  SENDING_DOMAINS,
] as const;
