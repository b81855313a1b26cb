# The service, running, held to its OpenAPI document and to a real Open311 client.
# Needs: PG_BIN, a cluster at $1 (postgres URL of the admin database), the built binary at $2.

contract_checks() {
    local admin="$1" bin="$2" dir="$3"
    # In the virtual environment of python_env (scripts/lib/tools.sh).
    python_packages schemathesis:schemathesis xmltodict:xmltodict
    # georeport pins old versions of what it needs; those of this venv serve it.
    python -c 'import georeport' 2>/dev/null || pip install -q --disable-pip-version-check --no-deps georeport
    psql "$admin" -q -c "DROP DATABASE IF EXISTS contract" -c "CREATE DATABASE contract"
    # Migrated by the owner; served by a login that may only read and append (hotline_runtime).
    "$bin" migrate --database-url "${admin%/postgres*}/contract?sslmode=disable" >/dev/null
    psql "$admin" -q -c "DO \$\$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'hotline_contract')
        THEN CREATE ROLE hotline_contract LOGIN IN ROLE hotline_runtime; END IF; END \$\$"
    local status=0
    local base="${admin%/postgres*}"
    export DATABASE_URL="${base/postgres@/hotline_contract@}/contract?sslmode=disable"
    (umask 077; "$bin" seed demo >"$dir/tokens.txt")
    # The bulk import from the command line: a file with a bad row changes nothing and names it.
    printf 'code,name,group,parent\ncontract.a,导入街道,town,taishan\ncontract.b,导入社区,village,contract.a\n' >"$dir/units.csv"
    local imported="SELECT count(*) FROM units WHERE code LIKE 'contract.%'"
    if "$bin" import units "$dir/units.csv" >"$dir/import.log" 2>&1 || ! grep -q "row 3, group" "$dir/import.log" \
        || [ "$(psql "$DATABASE_URL" -tAc "$imported")" != 0 ]; then
        echo "hotline import: a bad row was not refused by name:"; cat "$dir/import.log"; status=1
    fi
    sed -i 's/,village,/,community,/' "$dir/units.csv"
    "$bin" import units "$dir/units.csv" >>"$dir/import.log" 2>&1 && [ "$(psql "$DATABASE_URL" -tAc "$imported")" = 2 ] \
        || { echo "hotline import: the file did not go in:"; cat "$dir/import.log"; status=1; }
    local port
    port="$(free_port)"
    "$bin" serve --port "$port" --metrics-port 0 --sweep-interval 0 --test-clock >"$dir/serve.log" 2>&1 &
    local server=$!
    for _ in $(seq 1 50); do curl -sf "http://127.0.0.1:$port/health/live" >/dev/null && break; sleep 0.2; done
    # A sub-center's dispatcher from the command line reads its unit's inbox; a unit with no
    # units below it has no sub-center to dispatch for.
    local sub_token
    sub_token="$("$bin" users create --name "contract sub-center" --role dispatcher --unit taishan.daimiao | awk '{print $5}')"
    [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/api/v1/inbox" -H "Authorization: Bearer $sub_token")" = 200 ] \
        || { echo "users create --role dispatcher --unit: the token does not read the inbox"; status=1; }
    if "$bin" users create --name "contract no sub-center" --role dispatcher --unit housing >/dev/null 2>&1; then
        echo "users create made a dispatcher for a unit with no units below it"; status=1
    fi
    # Every operation, as every role: no 5xx, and every answer as the document says.
    for role in operator dispatcher handler manager supervisor admin; do
        local token
        token="$(awk -v r="$role" '$1 == r {print $3}' "$dir/tokens.txt")"
        echo "schemathesis as $role"
        # Bounded: a hang (of the service or of the tool) becomes a red run that says which role.
        timeout --kill-after=30 900 schemathesis run Sources/HotlineHTTP/openapi.yaml --url "http://127.0.0.1:$port" \
            -H "Authorization: Bearer $token" --max-examples 6 --seed 12345 --no-color \
            --checks not_a_server_error,response_schema_conformance,status_code_conformance,content_type_conformance,response_headers_conformance \
            >"$dir/schemathesis-$role.log" 2>&1 || { status=1; tail -n 60 "$dir/schemathesis-$role.log"; }
        grep -E "generated" "$dir/schemathesis-$role.log" || true
    done
    kill "$server"; wait "$server" 2>/dev/null || true
    # The Open311 client on a fresh instance: schemathesis, as admin, moved the test clock (past
    # every token's end), and may have deactivated the demo's admin; this one has an admin of its own.
    "$bin" serve --port "$port" --metrics-port 0 --sweep-interval 0 >>"$dir/serve.log" 2>&1 &
    server=$!
    for _ in $(seq 1 50); do curl -sf "http://127.0.0.1:$port/health/live" >/dev/null && break; sleep 0.2; done
    local admin_token key
    admin_token="$("$bin" users create --name "contract admin" --role admin | awk '{print $5}')"
    key="$(curl -s -X POST "http://127.0.0.1:$port/api/v1/open311/keys" -H "Authorization: Bearer $admin_token" \
        -H 'Content-Type: application/json' -d '{"name": "contract test"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["api_key"])')"
    timeout --kill-after=30 300 python Tests/contract/open311_client.py "http://127.0.0.1:$port" "$key" || status=1
    if grep -q "unexpected error" "$dir/serve.log"; then
        echo "the service logged unexpected errors:"; grep "unexpected error" "$dir/serve.log" | head -n 5; status=1
    fi
    kill "$server"; wait "$server" 2>/dev/null || true
    unset DATABASE_URL
    return $status
}
