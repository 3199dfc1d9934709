-- data/fhir.sqlite as lamworks 0.1 (commit 8202301) wrote it: tests/stores/data/make_v0_1.py
-- ran that release's own store code; dumped with sqlite3's iterdump. Do not edit by hand.
BEGIN TRANSACTION;
CREATE TABLE history (
    type TEXT NOT NULL, id TEXT NOT NULL, version INTEGER NOT NULL, last_updated TEXT NOT NULL,
    deleted INTEGER NOT NULL, body TEXT NOT NULL, PRIMARY KEY (type, id, version));
INSERT INTO "history" VALUES('Patient','33e69081af464d5396b6e09543a03f40',1,'2026-12-01T19:33:49.420Z',0,'{"resourceType":"Patient","id":"33e69081af464d5396b6e09543a03f40","name":[{"family":"Ruiz","given":["Ana"]}],"birthDate":"1980-02-03","meta":{"versionId":"1","lastUpdated":"2026-12-01T19:33:49.114Z"}}');
CREATE TABLE patient_terms (
    kind TEXT NOT NULL, term TEXT NOT NULL, id TEXT NOT NULL, display TEXT NOT NULL);
INSERT INTO "patient_terms" VALUES('version','2','','');
INSERT INTO "patient_terms" VALUES('name','anaruiz','33e69081af464d5396b6e09543a03f40','Ana Ruiz');
INSERT INTO "patient_terms" VALUES('word','ana','33e69081af464d5396b6e09543a03f40','Ana Ruiz');
INSERT INTO "patient_terms" VALUES('word','ruiz','33e69081af464d5396b6e09543a03f40','Ana Ruiz');
INSERT INTO "patient_terms" VALUES('birthdate','1980-02-03','33e69081af464d5396b6e09543a03f40','Ana Ruiz');
CREATE TABLE resources (
    type TEXT NOT NULL, id TEXT NOT NULL, version INTEGER NOT NULL, last_updated TEXT NOT NULL,
    deleted INTEGER NOT NULL DEFAULT 0, body TEXT NOT NULL, PRIMARY KEY (type, id));
INSERT INTO "resources" VALUES('Patient','33e69081af464d5396b6e09543a03f40',1,'2026-12-01T19:33:49.420Z',0,'{"resourceType":"Patient","id":"33e69081af464d5396b6e09543a03f40","name":[{"family":"Ruiz","given":["Ana"]}],"birthDate":"1980-02-03","meta":{"versionId":"1","lastUpdated":"2026-12-01T19:33:49.114Z"}}');
CREATE INDEX patient_terms_by_term ON patient_terms (kind, term);
CREATE INDEX patient_terms_by_id ON patient_terms (id);
COMMIT;
