#!/usr/bin/env bash
# Makes vectors.txt with the vendor's own openssl recipe (api-facts.md), independent
# of the Go code under test. Run from this folder: bash make-vectors.sh > vectors.txt
# Each line: name|secret|timestamp|nonce|method|canonical query|signature header
set -euo pipefail
HMAC_SECRET='c2VjcmV0LWtleS1mb3ItdGVzdHMtb25seS0xMjM0NTY='   # base64 of "secret-key-for-tests-only-123456"
sign() { # name timestamp nonce method query
  local BODY_HASH HEXKEY CANONICAL SIG
  BODY_HASH=$(printf '' | openssl dgst -sha256 -binary | base64)
  HEXKEY=$(printf '%s' "$HMAC_SECRET" | base64 -d | xxd -p -c 256)
  CANONICAL="v1:$2:$3:$4:$5:$BODY_HASH"
  SIG=$(printf '%s' "$CANONICAL" | openssl dgst -sha256 -mac HMAC -macopt "hexkey:$HEXKEY" -binary | base64)
  printf '%s|%s|%s|%s|%s|%s|v1=%s\n' "$1" "$HMAC_SECRET" "$2" "$3" "$4" "$5" "$SIG"
}
sign empty-query 1747640248 0f8fad5b-d9cb-469f-a165-70867728950e GET ''
sign aksb 1747640248 7c9e6679-7425-40de-944b-e07fc1f90ae7 GET 'account=1234567890&product=AKSB'
sign jompay-space-slash-plus 1747812023 a1b2c3d4e5f60718293a4b5c6d7e8f90 GET 'account=12 34/56+7&amount=10.50&biller_code=12345&product=JOMPAY&ref2=REF 2/x+y'
