-- data/lamworks.db as lamworks 0.1 (commit 8202301) wrote it: tests/stores/data/make_v0_1.py
-- ran that release's own store code; dumped with sqlite3's iterdump. Do not edit by hand.
BEGIN TRANSACTION;
CREATE TABLE accounts (
    username      TEXT PRIMARY KEY,
    role          TEXT NOT NULL,
    display_name  TEXT NOT NULL DEFAULT '',
    links         TEXT NOT NULL DEFAULT '{}',
    password_hash TEXT,
    disabled      INTEGER NOT NULL DEFAULT 0,
    failed_count  INTEGER NOT NULL DEFAULT 0,
    locked_until  REAL,
    created       REAL NOT NULL,
    source        TEXT NOT NULL CHECK (source IN ('local', 'oidc'))
);
INSERT INTO "accounts" VALUES('dana','staff','','{}','$argon2id$v=19$m=65536,t=3,p=4$85kG6MbGMyi47sdq4hc6pA$F+aDdaLHhCmfRA5goH9IFBSH7yc8b+6PRvGn/zRKtsM',0,0,NULL,1.79615362903139591218e+09,'local');
CREATE TABLE api_tokens (
    token_hash TEXT PRIMARY KEY,
    username   TEXT NOT NULL REFERENCES accounts (username),
    label      TEXT NOT NULL DEFAULT '',
    created    REAL NOT NULL,
    last_used  REAL,
    revoked    REAL
);
INSERT INTO "api_tokens" VALUES('38d50dbf8ad5e606ffa13d378ae77f6e607cd1e8ca30a3d5250a065137d3667e','dana','script',1.79615362903269529344e+09,NULL,NULL);
CREATE TABLE confirmations (
    token      TEXT PRIMARY KEY,
    session_id TEXT NOT NULL,
    step_id    TEXT NOT NULL,
    tool       TEXT NOT NULL,
    digest     TEXT NOT NULL,
    status     TEXT NOT NULL CHECK (status IN ('pending', 'used', 'cancelled')),
    created    REAL NOT NULL,
    settled    REAL
);
INSERT INTO "confirmations" VALUES('HbDVKiPITzgra12uNB0GngO2','s1','st1','sample.add_note','450a7e5e51a385d3a4ea2640725867f7b06677763055a8c0e858a91c040cd16a','used',1.79615362863320326804e+09,1.79615362864533805844e+09);
INSERT INTO "confirmations" VALUES('HXcH9I2_LOFQPiB_1Tchccd1','s1','st3','sample.add_note','a8d8648caa175ad955db4e61c72b74b5f50539d73ec616d1cf25fdaa04212174','pending',1.79615362865319132812e+09,NULL);
CREATE TABLE journal (
    key        TEXT PRIMARY KEY,
    session_id TEXT NOT NULL,
    step_id    TEXT NOT NULL,
    tool       TEXT NOT NULL,
    arguments_digest TEXT NOT NULL,
    change_digest TEXT,
    compensates TEXT,
    actor      TEXT NOT NULL,
    owner      TEXT NOT NULL,
    status     TEXT NOT NULL CHECK (status IN ('pending', 'done', 'failed', 'abandoned')),
    result     TEXT,
    error      TEXT,
    created    REAL NOT NULL,
    completed  REAL,
    audited    INTEGER NOT NULL DEFAULT 0
);
INSERT INTO "journal" VALUES('key-done','s1','st1','sample.add_note','d1',NULL,NULL,'alice','vm:11408','done','{"summary": "Note added.", "refs": [{"type": "Note", "id": "1"}]}',NULL,1.79615362861776828762e+09,1.79615362861822533608e+09,1);
INSERT INTO "journal" VALUES('key-failed','s1','st2','sample.add_note','d2',NULL,NULL,'alice','vm:11408','failed',NULL,'the notes store was full',1.7961536286205024719e+09,1.79615362862096714967e+09,1);
CREATE TABLE rate_events (
    user TEXT NOT NULL,
    ts   REAL NOT NULL
);
INSERT INTO "rate_events" VALUES('alice',1.79615362866183042524e+09);
INSERT INTO "rate_events" VALUES('alice',1.79615362866900563241e+09);
CREATE TABLE sessions (
    id      TEXT PRIMARY KEY,
    user    TEXT NOT NULL,
    state   TEXT NOT NULL,
    version INTEGER NOT NULL,
    updated REAL NOT NULL
);
INSERT INTO "sessions" VALUES('s1','alice','{"follow_up":null,"pending_steps":[],"references":{},"history":[],"last_step":null,"offered":{},"options":[],"set_aside":null,"plan_done":[]}',1,1.79615362863194203378e+09);
CREATE TABLE web_sessions (
    session_hash TEXT PRIMARY KEY,
    username     TEXT NOT NULL REFERENCES accounts (username),
    created      REAL NOT NULL,
    expires      REAL NOT NULL
);
INSERT INTO "web_sessions" VALUES('87565011f5aa3bbba4e7e1dd9e69f8885ef37ade3fead7cff083162d6c90c8bb','dana',1.79615362903326439853e+09,1.79618242903326439862e+09);
CREATE INDEX journal_status ON journal (status);
CREATE INDEX journal_unaudited ON journal (audited, status);
CREATE INDEX rate_events_user_ts ON rate_events (user, ts);
CREATE INDEX api_tokens_user ON api_tokens (username);
CREATE INDEX web_sessions_user ON web_sessions (username);
COMMIT;
