-- The order events were published in, which the event feed follows. It differs from `seq`
-- on PostgreSQL, where sequence numbers are handed out before commit: a row can commit (and be
-- published) after a row with a higher seq. The relay numbers the rows it marks from one
-- counter row, whose lock orders concurrent relays' marks as their commits.
ALTER TABLE outbox ADD COLUMN published_seq BIGINT;
CREATE UNIQUE INDEX outbox_published_seq ON outbox (published_seq);
UPDATE outbox SET published_seq = seq WHERE published_at_ms IS NOT NULL;

CREATE TABLE outbox_publish_counter (
    id   BIGINT PRIMARY KEY CHECK (id = 1),
    last BIGINT NOT NULL
);
INSERT INTO outbox_publish_counter (id, last) SELECT 1, COALESCE(MAX(seq), 0) FROM outbox;
