#!/bin/sh
# Verify one depositd callback with openssl:
#   DEPOSITD_CALLBACK_SECRET=... ./verify.sh "<Depositd-Signature header>" body.json
# body.json must hold the raw request body, byte for byte. Exit 0 = valid, 1 = not.
set -eu
header=$1
body=$2
secret=${DEPOSITD_CALLBACK_SECRET:?set DEPOSITD_CALLBACK_SECRET}
tolerance=${TOLERANCE_S:-300}

t=$(printf '%s\n' "$header" | tr ',' '\n' | sed -n 's/^ *t=\([0-9][0-9]*\) *$/\1/p' | head -n 1)
[ -n "$t" ] || { echo "no t= in header" >&2; exit 1; }
now=$(date +%s)
age=$((now - t))
if [ "$age" -gt "$tolerance" ] || [ "$age" -lt "-$tolerance" ]; then
  echo "timestamp outside ${tolerance}s" >&2
  exit 1
fi

# HMAC-SHA256(secret, "<t>.<raw body>")
expected=$({ printf '%s.' "$t"; cat "$body"; } | openssl dgst -sha256 -hmac "$secret" -r | cut -d' ' -f1)

for sig in $(printf '%s\n' "$header" | tr ',' '\n' | sed -n 's/^ *v1=\([0-9a-f]\{64\}\) *$/\1/p'); do
  if [ "$sig" = "$expected" ]; then
    echo "valid"
    exit 0
  fi
done
echo "no matching v1 signature" >&2
exit 1
