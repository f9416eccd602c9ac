#!/usr/bin/env bash
# soak-live.sh [SECONDS]: live capture on lo while crypto/tls connections
# (half TLS 1.2, half TLS 1.3, many resumed) come and go for SECONDS
# (default 150, at least 100); prints tlsresume's RSS every 10 seconds and
# fails if it keeps growing once flows time out. Needs root.
set -euo pipefail
cd "$(dirname "$0")/.."
TLSRESUME_SOAK="${1:-150}" go test -count=1 -run '^TestLiveSoak$' -v ./cmd/tlsresume | grep -E 'RSS|PASS|FAIL|ok'
