#!/usr/bin/env bash
# The README's first command, checked as a newcomer would run it (after `npm ci`): `npm start` must
# bring up a node with the example app on embedded defaults (no service), answer /readyz with 200,
# and stop cleanly (exit 0) on Ctrl-C. CI runs this on its fresh clone before the tests.
set -uo pipefail
cd "$(dirname "$0")/.."
url="http://127.0.0.1:9464/readyz"
log=$(mktemp)
# setsid: Ctrl-C goes to the process group, as a terminal would send it.
setsid npm start >"$log" 2>&1 &
pid=$!
ready=0
for _ in $(seq 1 120); do
  if ! kill -0 "$pid" 2>/dev/null; then break; fi
  if [[ "$(curl -s -o /dev/null -w '%{http_code}' "$url" 2>/dev/null)" == "200" ]]; then ready=1; break; fi
  sleep 0.5
done
if (( ready == 0 )); then
  echo "check-start: npm start did not become ready at $url within 60 s; its output:" >&2
  cat "$log" >&2
  kill -TERM -- "-$pid" 2>/dev/null
  rm -f "$log"
  exit 1
fi
kill -INT -- "-$pid"
wait "$pid"
code=$?
if (( code != 0 )); then
  echo "check-start: npm start exited with $code after Ctrl-C (expected 0); its output:" >&2
  cat "$log" >&2
  rm -f "$log"
  exit 1
fi
rm -f "$log"
echo "check-start: npm start ready at $url and stopped cleanly on Ctrl-C"
