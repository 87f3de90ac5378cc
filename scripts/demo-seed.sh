#!/usr/bin/env bash
# make demo-seed: a seed export of the demo database (godump seed): a deterministic sample of
# customers, closed over the "shop" graph (purchases and the products bought), masked with a
# seed (customer keys too, so the purchases' _from still join); restored with gorestore into a
# fresh database, the counts compared with the report; then a second export and a diff of
# the two, which prints nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-bin}
for tool in arangotest godump gorestore; do
	[ -x "$BIN/$tool" ] || { echo "demo-seed: $BIN/$tool missing; run make build" >&2; exit 1; }
done
work=$(mktemp -d)
log="$work/arangotest.log"
"$BIN/arangotest" --port 0 --seed demo >"$log" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; rm -rf "$work"' EXIT
endpoint=
for _ in $(seq 1 100); do
	endpoint=$(sed -n 's/^arangotest listening on \(http:[^ ]*\).*/\1/p' "$log" | head -1)
	[ -n "$endpoint" ] && break
	sleep 0.1
done
[ -n "$endpoint" ] || { echo "demo-seed: arangotest did not start:" >&2; cat "$log" >&2; exit 1; }
server_args=(--server.endpoint "${endpoint/http:/tcp:}" --server.authentication false)

cat >"$work/maskings.json" <<'EOF'
{
  "customers": {"type": "masked", "maskings": [
    {"path": "_key", "type": "randomString"},
    {"path": "name", "type": "xifyFront", "unmaskedLength": 1},
    {"path": "email", "type": "email"},
    {"path": "nickname", "type": "randomString"},
    {"path": "address.zip", "type": "zip"},
    {"path": "age", "type": "integer", "lower": 18, "upper": 90}
  ]},
  "purchases": {"type": "masked", "maskings": [{"path": "quantity", "type": "integer", "lower": 1, "upper": 5}]},
  "products": {"type": "full"}
}
EOF
cat >"$work/seed.json" <<EOF
{
  "collections": {"customers": {"sample": 40}},
  "graphs": [{"graph": "shop", "direction": "out", "depth": 1}],
  "maxFanout": 5,
  "maskings": "$work/maskings.json",
  "seed": "demo",
  "strictMaskings": true,
  "unmasked": {"customers": ["vip", "tags", "location", "address.city"], "purchases": ["date"]}
}
EOF
echo "== godump seed --config-file seed.json (sample 40 customers, graph shop out 1, masked, seed demo)"
echo "   $(tr -d '\n' <"$work/seed.json" | sed "s|$work/||")"
"$BIN/godump" seed "${server_args[@]}" --server.database demo --config-file "$work/seed.json" \
	--output-directory "$work/seed1" | tee "$work/report.txt"
echo
echo "== a masked customer and one of their purchases"
head -1 "$work"/seed1/customers_*.data.json
head -1 "$work"/seed1/purchases_*.data.json
echo
echo "== gorestore into a fresh database demo_seed"
"$BIN/gorestore" "${server_args[@]}" --server.database demo_seed --create-database true \
	--input-directory "$work/seed1" --progress false | tail -1
fail=0
while read -r name count; do
	got=$(curl -fsS "$endpoint/_db/demo_seed/_api/collection/$name/count" | grep -o '"count":[0-9]*' | cut -d: -f2)
	if [ "$got" = "$count" ]; then
		echo "   $name: $got document(s) restored, as reported"
	else
		echo "   $name: $got document(s) restored, the report says $count" >&2
		fail=1
	fi
done < <(sed -n 's/^  \([^ ]*\) (.*): \([0-9]*\) document(s)$/\1 \2/p' "$work/report.txt")
[ "$fail" = 0 ] || exit 1
# every purchase's _from is a restored (masked) customer: the masked keys still join
from=$(head -1 "$work"/seed1/purchases_*.data.json | grep -o '"_from":"[^"]*"' | cut -d'"' -f4)
curl -fsS "$endpoint/_db/demo_seed/_api/document/$from" >/dev/null && echo "   $from (a purchase's _from) resolves in demo_seed"
echo
echo "== the same export again, and diff -r of the two (nothing below this line)"
"$BIN/godump" seed "${server_args[@]}" --server.database demo --config-file "$work/seed.json" \
	--output-directory "$work/seed2" >/dev/null
diff -r "$work/seed1" "$work/seed2"
echo "== identical: $(ls "$work/seed1" | wc -l) files"
