-- Schema 3: receipts the desk can check, and uploads that need nobody
-- signed in.
--
-- The hub signs every receipt; the desk pins the hub's receipt key (public
-- half) at enrolment and marks a report delivered only under a receipt it
-- signed (`receipt_checked`). Only checked deliveries are ever purged.
-- Deliveries made before this schema are checked again by sending the same
-- bytes once more (the hub answers with its signed receipt); until then
-- they keep their personal data.
--
-- The desk's device key (Ed25519; the secret encrypted to the desk key)
-- proves at enrolment which desk registers it, and signs outbox files. A
-- desk keeps it across enrolments, so the hub knows it as the same desk;
-- `former_devices` lists this desk's earlier device ids, whose receipts are
-- its own.
--
-- The upload token moves out of the store into an owner-only credential
-- file (`hub-credential.json`) so the sync worker needs no passphrase; the
-- `token` column is emptied once it has moved.
ALTER TABLE hub ADD COLUMN receipt_key TEXT;
ALTER TABLE hub ADD COLUMN former_devices TEXT NOT NULL DEFAULT '[]';
-- Whether the hub knows this desk's device key (enrolled with it).
ALTER TABLE hub ADD COLUMN device_key_registered INTEGER NOT NULL DEFAULT 0;
ALTER TABLE outbox ADD COLUMN receipt_checked INTEGER NOT NULL DEFAULT 0;
-- The digests of payloads this desk made for a revision before it was
-- encrypted again (the partnership's keys replaced): a receipt counts only
-- for bytes this desk itself sent.
ALTER TABLE outbox ADD COLUMN earlier_digests TEXT NOT NULL DEFAULT '[]';
ALTER TABLE desk ADD COLUMN device_key BLOB;
