#!/usr/bin/env sh
# Creates the namespace and Posthorn's search attributes on a Temporal cluster. Posthorn
# also registers the search attributes itself at start; this is for operators who
# provision ahead (e.g. the docker-compose "temporal-setup" service).
set -eu
ADDR="${TEMPORAL_ADDRESS:-temporal:7233}"
NS="${TEMPORAL_NAMESPACE:-default}"
temporal operator namespace describe --address "$ADDR" -n "$NS" >/dev/null 2>&1 ||
  temporal operator namespace create --address "$ADDR" -n "$NS" --retention 7d
# Name=Type, as workflows/contract.ts declares them (test/unit/config checks the two agree).
for sa in PosthornTenant=Keyword PosthornSendingDomain=Keyword PosthornMessageType=Keyword \
  PosthornSendingIp=Keyword PosthornProvider=Keyword PosthornMessageIds=KeywordList \
  PosthornTenants=KeywordList PosthornSendingDomains=KeywordList; do
  temporal operator search-attribute create --address "$ADDR" -n "$NS" --name "${sa%%=*}" --type "${sa#*=}" 2>/dev/null || true
done
