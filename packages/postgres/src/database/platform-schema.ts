import type { Migration } from './migrations'

/**
 * The platform's own tables, created in every service's schema. A producing service uses the outbox and
 * feed tables; a consuming one the inbox, checkpoints, leases and dead letters; read models the documents.
 */
export const platformMigrations: readonly Migration[] = [
  {
    version: 1,
    name: 'outbox and feed',
    up: (s) => `
      CREATE TABLE ${s}.outbox (
        seq bigserial NOT NULL,
        feed_xid xid8 NOT NULL,
        id uuid NOT NULL,
        type text NOT NULL,
        key text NOT NULL,
        version bigint,
        occurred_at timestamptz NOT NULL,
        data jsonb NOT NULL,
        meta jsonb NOT NULL DEFAULT '{}',
        PRIMARY KEY (feed_xid, seq)
      );
      CREATE UNIQUE INDEX outbox_id ON ${s}.outbox (id);
      CREATE UNIQUE INDEX outbox_key_version ON ${s}.outbox (key, version) WHERE version IS NOT NULL;
      CREATE INDEX outbox_key_feed_xid ON ${s}.outbox (key, feed_xid);
      CREATE TABLE ${s}.feed_readers (
        reader text PRIMARY KEY,
        position text NOT NULL,
        seen_at timestamptz NOT NULL
      );
    `,
  },
  {
    version: 2,
    name: 'consumers: inbox, checkpoints, leases, dead letters',
    up: (s) => `
      CREATE TABLE ${s}.inbox (
        consumer text NOT NULL,
        message_id text NOT NULL,
        seq bigserial NOT NULL,
        status text NOT NULL,
        key text NOT NULL DEFAULT '',
        envelope jsonb,
        attempts int NOT NULL DEFAULT 0,
        next_attempt_at timestamptz,
        last_error text,
        received_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (consumer, message_id)
      );
      CREATE INDEX inbox_pending ON ${s}.inbox (consumer, seq) WHERE status = 'pending';
      CREATE INDEX inbox_received_at ON ${s}.inbox (received_at);
      CREATE TABLE ${s}.checkpoints (
        consumer text NOT NULL,
        source text NOT NULL,
        position text NOT NULL,
        last_occurred_at timestamptz,
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (consumer, source)
      );
      CREATE TABLE ${s}.leases (
        name text PRIMARY KEY,
        owner text NOT NULL,
        expires_at timestamptz NOT NULL,
        acquired_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE TABLE ${s}.dead_letters (
        id bigserial PRIMARY KEY,
        consumer text NOT NULL,
        message_id text NOT NULL,
        envelope jsonb NOT NULL,
        error text NOT NULL,
        attempts int NOT NULL,
        failed_at timestamptz NOT NULL DEFAULT now(),
        replayed_at timestamptz
      );
      CREATE INDEX dead_letters_open ON ${s}.dead_letters (consumer, id) WHERE replayed_at IS NULL;
    `,
  },
  {
    version: 3,
    name: 'documents',
    up: (s) => `
      CREATE TABLE ${s}.documents (
        collection text NOT NULL,
        id text NOT NULL,
        body jsonb NOT NULL DEFAULT '{}',
        versions jsonb NOT NULL DEFAULT '{}',
        deleted boolean NOT NULL DEFAULT false,
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (collection, id)
      );
    `,
  },
  {
    version: 4,
    name: 'scheduled messages',
    up: (s) => `
      CREATE TABLE ${s}.scheduled_messages (
        id text PRIMARY KEY,
        type text NOT NULL,
        key text NOT NULL,
        data jsonb NOT NULL,
        due_at timestamptz NOT NULL,
        attempts int NOT NULL DEFAULT 0,
        last_error text,
        created_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE INDEX scheduled_messages_due ON ${s}.scheduled_messages (due_at);
    `,
  },
  {
    version: 5,
    name: 'documents: body index',
    // jsonb_ops (the default) serves `body ? key` and `body @> {...}`.
    up: (s) => `
      CREATE INDEX documents_body ON ${s}.documents USING gin (body);
    `,
  },
  {
    version: 6,
    name: 'relay progress',
    // How far a relay has published this schema's outbox to a broker, confirmed.
    up: (s) => `
      CREATE TABLE ${s}.relay_progress (
        relay text PRIMARY KEY,
        position text NOT NULL,
        published_at timestamptz NOT NULL DEFAULT now()
      );
    `,
  },
  {
    version: 7,
    name: 'checkpoints: source position',
    // How far in the producer's own outbox a consumer has applied a feed: for a partition of a source read
    // from a broker, position holds the broker's offset. Consistency tokens are producer positions.
    up: (s) => `
      ALTER TABLE ${s}.checkpoints ADD COLUMN source_position text;
    `,
  },
  {
    version: 8,
    name: 'feed readers: session',
    // Which instance of a reader reported its position: another session takes the name over only once the
    // reporting one has gone quiet (OutboxFeed.reportReader).
    up: (s) => `
      ALTER TABLE ${s}.feed_readers ADD COLUMN session text;
    `,
  },
  {
    version: 9,
    name: 'feed retention: how far it has deleted',
    // One row once retention has deleted anything: a rebuild from the start would miss up to `through`.
    up: (s) => `
      CREATE TABLE ${s}.feed_trimmed (
        only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
        through text NOT NULL,
        trimmed_at timestamptz NOT NULL
      );
    `,
  },
  {
    version: 10,
    name: 'idempotency keys',
    // A keyed command's outcome, written in the command's own transaction, and the answer given for it; a
    // retry with the same key is answered from here instead of running the command again.
    up: (s) => `
      CREATE TABLE ${s}.idempotency_keys (
        caller text NOT NULL,
        key text NOT NULL,
        fingerprint text NOT NULL,
        outcome bytea NOT NULL,
        status integer,
        headers jsonb,
        body bytea,
        created_at timestamptz NOT NULL,
        PRIMARY KEY (caller, key)
      );
      CREATE INDEX idempotency_keys_created_at ON ${s}.idempotency_keys (created_at);
    `,
  },
  {
    version: 11,
    name: 'inbox: lane, held since',
    // The feed (or a broker source's partition) a pending message came in on: each lane's leader releases
    // its own held messages, and a lane's progress stops before its oldest one. Since when a message has
    // waited for the positions it names: its hold limit counts from there.
    up: (s) => `
      ALTER TABLE ${s}.inbox ADD COLUMN lane text, ADD COLUMN held_since timestamptz;
      UPDATE ${s}.inbox SET lane = envelope->>'source' WHERE status = 'pending';
    `,
  },
]
