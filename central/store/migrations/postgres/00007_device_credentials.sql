-- +goose Up
-- Suspending a device and rolling its API credential. A suspension is
-- central's alone (no manifest change: the venue's peers keep accepting
-- the device's records): suspended_at, while not 0, refuses the device's
-- uploads and pulls, and suspend_reason says why. A rolled credential is
-- issued into next_credential_hash beside the one in use, which keeps
-- working until the new one is first used and takes its place, so an
-- answer lost on the way to the device loses nothing. roll_requested is
-- ops asking the device to roll at its next sync; credential_rolled_at is
-- when its current credential first came into use by a roll.
ALTER TABLE devices ADD COLUMN suspended_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE devices ADD COLUMN suspend_reason TEXT NOT NULL DEFAULT '';
ALTER TABLE devices ADD COLUMN next_credential_hash BYTEA;
ALTER TABLE devices ADD COLUMN roll_requested BIGINT NOT NULL DEFAULT 0;
ALTER TABLE devices ADD COLUMN credential_rolled_at BIGINT NOT NULL DEFAULT 0;
CREATE UNIQUE INDEX devices_next_credential ON devices (next_credential_hash);

-- +goose Down
DROP INDEX devices_next_credential;
ALTER TABLE devices DROP COLUMN credential_rolled_at;
ALTER TABLE devices DROP COLUMN roll_requested;
ALTER TABLE devices DROP COLUMN next_credential_hash;
ALTER TABLE devices DROP COLUMN suspend_reason;
ALTER TABLE devices DROP COLUMN suspended_at;
