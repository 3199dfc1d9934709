-- data/knowledge.sqlite as lamworks 0.1 (commit 8202301) wrote it: tests/stores/data/make_v0_1.py
-- ran that release's own store code; dumped with sqlite3's iterdump. Do not edit by hand.
BEGIN TRANSACTION;
CREATE TABLE files (
                source TEXT NOT NULL, path TEXT NOT NULL, sha256 TEXT NOT NULL,
                fingerprint TEXT NOT NULL, access TEXT NOT NULL, title TEXT NOT NULL,
                chunk_ids TEXT NOT NULL, ingested_at TEXT NOT NULL, size INTEGER NOT NULL,
                PRIMARY KEY (source, path));
INSERT INTO "files" VALUES('uploads-dana','policy.md','abababababababababababababababababababababababababababababababab','f1','staff','Late policy','["c1", "c2"]','2026-12-01T10:00:00Z',120);
CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT INTO "meta" VALUES('generation',1);
CREATE TABLE sources (
                source TEXT PRIMARY KEY, root TEXT NOT NULL, access TEXT NOT NULL,
                description TEXT NOT NULL);
INSERT INTO "sources" VALUES('uploads-dana','/srv/uploads','staff','Dana''s uploads');
CREATE TABLE upload_owners (
                source TEXT PRIMARY KEY, owner TEXT NOT NULL, created TEXT NOT NULL);
COMMIT;
