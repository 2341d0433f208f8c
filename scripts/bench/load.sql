-- Loads :n realistic Parlant event documents into the collection table :"schema".:"table", which
-- the service has created (PUT /sessions/events), with every column set from `data` exactly as the
-- service's insert sets it. Run by scripts/bench.sh:
--   psql URL -v schema=bench -v table=parlant_sessions_events -v n=100000 -v version=0.6.0 \
--        -f scripts/bench/load.sql
--
-- Document i (0-based), in creation order:
--   id            10000000000 + (i * 2654435761) mod 2^32, in decimal: unique, random-looking, and
--                 computable by the wrk and pgbench scripts from a random i (scripts/bench/common.lua)
--   creation_utc  2025-01-01 + i * 1.370123 s, as Python's isoformat() prints it, so the keyset
--                 order (creation_utc, id) is the order of i
--   session_id    sess_<i / 10>: ten consecutive events per session
--   customer_id   cust_<c>, c = floor(1000 * r^2) with r a scrambled uniform [0, 1) of the session:
--                 1,000 customers with a skewed share of the sessions, as in Parlant where a few
--                 customers (the guest customer first) own most sessions. At 100,000 documents
--                 cust_0 has about 3,200 documents and cust_999 about 50; at 1,000,000 ten times more.
--   agent_id      agent_<session mod 5>
--   version       :version for every document
--   kind          message (60 %), tool (20 %), status (20 %), with Parlant's EventDocument fields
--                 (source, offset, correlation_id, deleted) and a nested `data` of the kind; message
--                 texts of varying length make documents of 300 to 800 bytes (as data::text, which the
--                 service sends: about 390 to 800 bytes, 590 on average).
--
-- The secondary indexes are dropped for the load and rebuilt from their own definitions after it
-- (much faster than maintaining the GIN index row by row); the primary key stays. All in one
-- transaction: a failed load leaves the table as it was.
\set ON_ERROR_STOP on
BEGIN;
SET LOCAL maintenance_work_mem = '512MB';
SET LOCAL synchronous_commit = off;

CREATE TEMP TABLE bench_indexes ON COMMIT DROP AS
SELECT i.indexname, i.indexdef
FROM pg_indexes i
WHERE i.schemaname = :'schema' AND i.tablename = :'table'
  AND i.indexname NOT IN (
      SELECT conname FROM pg_constraint WHERE conrelid = format('%I.%I', :'schema', :'table')::regclass
  );

SELECT format('DROP INDEX %I.%I', :'schema', indexname) FROM bench_indexes \gexec

INSERT INTO :"schema".:"table" (id, version, creation_utc, session_id, customer_id, agent_id, data)
SELECT d ->> 'id', d ->> 'version', d ->> 'creation_utc', d ->> 'session_id', d ->> 'customer_id',
       d ->> 'agent_id', d
FROM (
    SELECT jsonb_build_object(
        'id', v.id,
        'version', :'version',
        'creation_utc', to_char(timestamp '2025-01-01' + g.i * interval '1370123 microseconds',
                                'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"'),
        'session_id', 'sess_' || v.s,
        'customer_id', 'cust_' || v.c,
        'agent_id', 'agent_' || (v.s % 5),
        'source', CASE WHEN v.kind = 'message' AND g.i % 2 = 0 THEN 'customer'
                       WHEN v.kind = 'status' THEN 'system' ELSE 'ai_agent' END,
        'kind', v.kind,
        'offset', g.i % 10,
        'correlation_id', 'RID(' || v.s || ')::' || (v.k % 100000),
        'deleted', false,
        'data', CASE v.kind
            WHEN 'message' THEN jsonb_build_object(
                'message', substr(v.lorem, (1 + v.k % 40)::int, (1 + v.k % 380)::int),
                'participant', CASE WHEN g.i % 2 = 0
                    THEN jsonb_build_object('id', 'cust_' || v.c, 'display_name', 'Customer ' || v.c)
                    ELSE jsonb_build_object('id', 'agent_' || (v.s % 5), 'display_name', 'Support agent') END,
                'flagged', false,
                'tags', jsonb_build_array(),
                'draft', NULL)
            WHEN 'tool' THEN jsonb_build_object('tool_calls', jsonb_build_array(jsonb_build_object(
                'tool_id', 'billing:lookup_invoice',
                'arguments', jsonb_build_object('invoice_id', 'INV-' || (v.k % 1000000)),
                'result', jsonb_build_object(
                    'data', substr(v.lorem, (1 + v.k % 40)::int, (1 + v.k % 330)::int),
                    'metadata', jsonb_build_object('source', 'billing-api'),
                    'control', jsonb_build_object()))))
            ELSE jsonb_build_object(
                'status', (ARRAY['acknowledged', 'processing', 'typing', 'ready'])[(1 + v.k % 4)::int],
                'acknowledged_offset', g.i % 10,
                'data', jsonb_build_object('stage', 'Generating response',
                                           'detail', substr(v.lorem, (1 + v.k % 40)::int, (1 + v.k % 250)::int)))
        END) AS d
    FROM generate_series(0, :n - 1) AS g(i)
    CROSS JOIN LATERAL (
        SELECT (10000000000 + (g.i::bigint * 2654435761) % 4294967296)::text AS id,
               ((g.i::bigint * 2654435761) % 4294967296)::int8 AS k,
               g.i / 10 AS s,
               floor(1000 * power(((g.i / 10)::bigint * 2654435761 % 4294967296)::float8 / 4294967296, 2))::int AS c,
               CASE WHEN g.i % 10 < 6 THEN 'message' WHEN g.i % 10 < 8 THEN 'tool' ELSE 'status' END AS kind,
               'Hi, I was charged twice for my subscription this month and I would like a refund for '
               || 'the duplicate payment. My order number is in the previous email, could you also check '
               || 'whether my plan renews automatically next month? Thanks for looking into it, I have been '
               || 'a customer for years and this never happened before. Also, the mobile app keeps logging '
               || 'me out whenever I switch from Wi-Fi to cellular, is that a known issue? I already tried '
               || 'reinstalling it twice and clearing its cache, with no luck at all.' AS lorem
    ) v
) docs;

SELECT indexdef FROM bench_indexes \gexec

ANALYZE :"schema".:"table";
COMMIT;
