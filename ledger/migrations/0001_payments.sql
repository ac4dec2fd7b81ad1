-- One row a payment, the refid its key; and its history: the intent, every
-- answer and every callback, each once.
CREATE TABLE payments (
    refid       TEXT PRIMARY KEY,
    fingerprint TEXT NOT NULL,   -- SHA-256 of what is sent: another body under this refid is refused
    product     TEXT NOT NULL,
    account     TEXT NOT NULL,   -- kept: reconciliation needs it
    biller_code TEXT NOT NULL,
    amount_sen  BIGINT NOT NULL,
    sealed      BYTEA,           -- the IC number and Ref-2, AES-GCM under the ledger's key; NULL without one
    state       TEXT NOT NULL,
    code        INTEGER NOT NULL,
    created_us  BIGINT NOT NULL, -- Unix microseconds
    updated_us  BIGINT NOT NULL
);
CREATE INDEX payments_open ON payments (state) WHERE state IN ('sending', 'processing', 'unknown');
CREATE TABLE events (
    refid   TEXT NOT NULL REFERENCES payments (refid),
    kind    TEXT NOT NULL,       -- intent, answer, callback
    dedup   TEXT NOT NULL,       -- the same answer or callback twice is one row
    state   TEXT NOT NULL,
    code    INTEGER NOT NULL,
    detail  TEXT NOT NULL,       -- redacted: no account, IC number or Ref-2
    at_us   BIGINT NOT NULL,
    PRIMARY KEY (refid, kind, dedup)
);
