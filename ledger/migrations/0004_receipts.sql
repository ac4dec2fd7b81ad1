-- What a receipt shows of the vendor's answer: its serial number, its
-- request id and its time (Unix microseconds; 0 when it gave none).
ALTER TABLE payments ADD COLUMN serial TEXT NOT NULL DEFAULT '';
ALTER TABLE payments ADD COLUMN request_id TEXT NOT NULL DEFAULT '';
ALTER TABLE payments ADD COLUMN vendor_us BIGINT NOT NULL DEFAULT 0;
