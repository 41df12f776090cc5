-- Accounts: the admin panel lists accounts awaiting approval, and the forum bounds the mails
-- anyone can make it send to one address in an hour (reset links, "address in use").
CREATE INDEX users_awaiting_idx ON users (id) WHERE awaiting IS NOT NULL;
CREATE INDEX mails_recipient_idx ON mails (lower(recipient), kind, created_at);
