-- Each item's state in its run (autopay's instruction in a period), in the
-- words of the tool that runs it, written only by the item's claim holder;
-- refid names the payment it made, whose state the payments table holds.
CREATE TABLE items (
    run        TEXT NOT NULL,
    id         TEXT NOT NULL,
    state      TEXT NOT NULL,
    refid      TEXT NOT NULL,   -- '' when the item made no payment
    attempt    INTEGER NOT NULL,
    amount_sen BIGINT NOT NULL,
    detail     TEXT NOT NULL,   -- redacted by the tool: no account, IC number or Ref-2
    updated_us BIGINT NOT NULL,
    PRIMARY KEY (run, id)
);
