-- The keyset positions of the page benchmark, one line per chosen customer, tab-separated:
--   customer_id, documents, middle token, last token, middle (creation_utc, id), last (creation_utc, id)
-- Chosen: up to :max customers spread over the popularity range among those with at least 300
-- documents, so that each one's first, middle and last pages of 100 are disjoint. The first page
-- has no cursor (documents 0..99 of the customer); the middle page starts at document n/2 - 50;
-- the last page holds the customer's last 100 documents (its cursor names document n - 101).
-- A token is what the service issues: base64url without padding of the JSON ["creation_utc", "id"].
-- Run by scripts/bench.sh: psql URL -AtF '<tab>' -v schema=... -v table=... -v max=64 -f pages.sql
\set ON_ERROR_STOP on
WITH ranked AS (
    SELECT customer_id, creation_utc, id,
           row_number() OVER (PARTITION BY customer_id ORDER BY creation_utc, id) - 1 AS pos,
           count(*) OVER (PARTITION BY customer_id) AS n
    FROM :"schema".:"table"
    WHERE customer_id IS NOT NULL
), eligible AS (
    SELECT customer_id, n,
           row_number() OVER (ORDER BY n DESC, customer_id) - 1 AS rank,
           count(*) OVER () AS total
    FROM (SELECT DISTINCT customer_id, n FROM ranked WHERE n >= 300) e
), chosen AS (
    SELECT customer_id, n FROM eligible
    WHERE rank % greatest(1, ceil(total / :max::numeric))::int = 0
), positions AS (
    SELECT r.customer_id, r.n,
           max(r.creation_utc) FILTER (WHERE r.pos = r.n / 2 - 51) AS middle_utc,
           max(r.id) FILTER (WHERE r.pos = r.n / 2 - 51) AS middle_id,
           max(r.creation_utc) FILTER (WHERE r.pos = r.n - 101) AS last_utc,
           max(r.id) FILTER (WHERE r.pos = r.n - 101) AS last_id
    FROM ranked r JOIN chosen c USING (customer_id)
    GROUP BY r.customer_id, r.n
)
SELECT customer_id, n,
       rtrim(translate(encode(convert_to('["' || middle_utc || '","' || middle_id || '"]', 'UTF8'), 'base64'),
                       E'+/\n', '-_'), '='),
       rtrim(translate(encode(convert_to('["' || last_utc || '","' || last_id || '"]', 'UTF8'), 'base64'),
                       E'+/\n', '-_'), '='),
       middle_utc, middle_id, last_utc, last_id
FROM positions
ORDER BY n DESC, customer_id;
