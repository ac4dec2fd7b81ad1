-- Work shared by the processes of a run (autopay's instructions of a
-- period): each item is claimed by one owner until its lease ends; a stop
-- seen by one process (the wallet short, the IP blocked) is every process's.
CREATE TABLE claims (
    run      TEXT NOT NULL,
    item     TEXT NOT NULL,
    owner    TEXT NOT NULL,
    until_us BIGINT NOT NULL,
    PRIMARY KEY (run, item)
);
CREATE TABLE runs (
    run     TEXT PRIMARY KEY,
    stopped TEXT NOT NULL,
    at_us   BIGINT NOT NULL
);
