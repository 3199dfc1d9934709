-- data/audit.db as lamworks 0.1 (commit 8202301) wrote it: tests/stores/data/make_v0_1.py
-- ran that release's own store code; dumped with sqlite3's iterdump. Do not edit by hand.
BEGIN TRANSACTION;
CREATE TABLE audit (
    seq        INTEGER PRIMARY KEY,
    ts         TEXT NOT NULL,
    actor      TEXT NOT NULL,
    role       TEXT NOT NULL,
    session_id TEXT NOT NULL,
    event      TEXT NOT NULL,
    tool       TEXT NOT NULL,
    step_id    TEXT NOT NULL,
    arguments  TEXT NOT NULL,
    decisions  TEXT NOT NULL,
    outcome    TEXT NOT NULL,
    detail     TEXT NOT NULL,
    prev_hash  TEXT NOT NULL,
    hash       TEXT NOT NULL
);
INSERT INTO "audit" VALUES(1,'2026-12-01T19:33:49.046105+00:00','alice','staff','s1','step.executed','sample.add_note','st0','{"text":"note 0"}','[{"outcome":"allow","policy":"core.scope"}]','executed','{"idempotency_key":"k0"}','0000000000000000000000000000000000000000000000000000000000000000','1a5c0f39f4a59a8352e3e25ec63b4621f63b1df90d5bb66d5a16f9330fb63668');
INSERT INTO "audit" VALUES(2,'2026-12-01T19:33:49.048529+00:00','alice','staff','s1','step.executed','sample.add_note','st1','{"text":"note 1"}','[{"outcome":"allow","policy":"core.scope"}]','executed','{"idempotency_key":"k1"}','1a5c0f39f4a59a8352e3e25ec63b4621f63b1df90d5bb66d5a16f9330fb63668','bf8a319c62b77efd71b2760c9e9c790df8bff5452deab9d334d0469575ba708e');
INSERT INTO "audit" VALUES(3,'2026-12-01T19:33:49.052444+00:00','alice','staff','s1','step.executed','sample.add_note','st2','{"text":"note 2"}','[{"outcome":"allow","policy":"core.scope"}]','executed','{"idempotency_key":"k2"}','bf8a319c62b77efd71b2760c9e9c790df8bff5452deab9d334d0469575ba708e','25eb66c799984a2ffb2f7698cbf61ccfdb78d0703576bce2a6cea63eb87cf547');
INSERT INTO "audit" VALUES(4,'2026-12-01T19:33:49.054375+00:00','alice','staff','s1','step.executed','sample.add_note','st3','{"text":"note 3"}','[{"outcome":"allow","policy":"core.scope"}]','executed','{"idempotency_key":"k3"}','25eb66c799984a2ffb2f7698cbf61ccfdb78d0703576bce2a6cea63eb87cf547','2f8749e859c2b9616d5f76cecec0c7c91428730bd96753ac618d60c0aaf63947');
INSERT INTO "audit" VALUES(5,'2026-12-01T19:33:49.056147+00:00','alice','staff','s1','step.executed','sample.add_note','st4','{"text":"note 4"}','[{"outcome":"allow","policy":"core.scope"}]','executed','{"idempotency_key":"k4"}','2f8749e859c2b9616d5f76cecec0c7c91428730bd96753ac618d60c0aaf63947','f571b664ea81e19d6069175e1f75a624fe047da600a2ba788b8ab2ea9598e072');
INSERT INTO "audit" VALUES(6,'2026-12-01T19:33:49.058021+00:00','alice','staff','s1','step.executed','sample.add_note','st5','{"text":"note 5"}','[{"outcome":"allow","policy":"core.scope"}]','executed','{"idempotency_key":"k5"}','f571b664ea81e19d6069175e1f75a624fe047da600a2ba788b8ab2ea9598e072','94e02664bb6381c8d91885260fd702272d7d002507283dc17e01e7e27187b19d');
INSERT INTO "audit" VALUES(7,'2026-12-01T19:33:49.059691+00:00','alice','staff','s1','step.executed','sample.add_note','st6','{"text":"note 6"}','[{"outcome":"allow","policy":"core.scope"}]','executed','{"idempotency_key":"k6"}','94e02664bb6381c8d91885260fd702272d7d002507283dc17e01e7e27187b19d','4672e210e56cac8b1865db1e8169bb1950e4b4ad4e8c5df5d963d9a1a26edf4c');
CREATE TABLE audit_checkpoint (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    seq       INTEGER NOT NULL,
    hash      TEXT NOT NULL,
    time      TEXT NOT NULL,
    every     INTEGER NOT NULL,
    prev_seq  INTEGER NOT NULL,
    key_id    TEXT NOT NULL,
    signature TEXT NOT NULL
);
INSERT INTO "audit_checkpoint" VALUES(1,1,'1a5c0f39f4a59a8352e3e25ec63b4621f63b1df90d5bb66d5a16f9330fb63668','2026-12-01T19:33:49+00:00',3,0,'139e3940e64b5491','yJgk5W/6HI7nh5JLpbXDAWj47WxeRFCq4Q4DtJsM8AMiZVlW6LD9j5S5xSkqallVGGUzzw1SyGENPLn2COmRAw==');
INSERT INTO "audit_checkpoint" VALUES(2,3,'25eb66c799984a2ffb2f7698cbf61ccfdb78d0703576bce2a6cea63eb87cf547','2026-12-01T19:33:49+00:00',3,1,'139e3940e64b5491','kH8S/a7TqPxmNVua2+I28GSACRd9Q0qzvk+ukNOElcTFJFqhy43FbBDGaZ5fc9AY6JdGcogH82hNmauvfT+7BQ==');
INSERT INTO "audit_checkpoint" VALUES(3,6,'94e02664bb6381c8d91885260fd702272d7d002507283dc17e01e7e27187b19d','2026-12-01T19:33:49+00:00',3,3,'139e3940e64b5491','74aTMqJQNwJNpGZktxC1r0Za73zT+gcRkOp2QJbIUkqcWosxUWVXxcV/i9brTEVZ8mjVP5y3Yazb0GAOD93JDw==');
INSERT INTO "audit_checkpoint" VALUES(4,7,'4672e210e56cac8b1865db1e8169bb1950e4b4ad4e8c5df5d963d9a1a26edf4c','2026-12-01T19:33:49+00:00',3,6,'139e3940e64b5491','Jg2VJBnIS62+ysts6XsvetDmso0rO2dlP79u8xkO3HIE3q9prn+dcJpffxrnExFXFsSC2ALQxw/wyvzbw5WBAQ==');
CREATE TABLE audit_head (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    seq  INTEGER NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO "audit_head" VALUES(1,7,'4672e210e56cac8b1865db1e8169bb1950e4b4ad4e8c5df5d963d9a1a26edf4c');
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE INDEX audit_step ON audit (step_id);
CREATE TRIGGER audit_checkpoint_no_update BEFORE UPDATE ON audit_checkpoint
BEGIN SELECT RAISE(ABORT, 'audit checkpoints are append-only'); END;
CREATE TRIGGER audit_checkpoint_no_delete BEFORE DELETE ON audit_checkpoint
BEGIN SELECT RAISE(ABORT, 'audit checkpoints are append-only'); END;
DELETE FROM "sqlite_sequence";
INSERT INTO "sqlite_sequence" VALUES('audit_checkpoint',4);
COMMIT;
