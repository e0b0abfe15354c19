-- Notify's own tables: notifications (in-app inbox), the delivery log, preferences,
-- webhooks and the contacts it learns from auth's events.

CREATE TABLE notifications (
    id uuid PRIMARY KEY,
    user_id text NOT NULL,
    type text NOT NULL,
    title text NOT NULL,
    message text NOT NULL,
    severity text NOT NULL,
    metadata jsonb NOT NULL DEFAULT '{}',
    link text,
    group_key text NOT NULL DEFAULT '',
    count integer NOT NULL DEFAULT 1,
    is_read boolean NOT NULL DEFAULT false,
    -- account mails (verification, reset) are delivered but never listed in the app
    visible boolean NOT NULL DEFAULT true,
    deleted boolean NOT NULL DEFAULT false,
    last_seen_at timestamptz NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);
CREATE INDEX notifications_user_created ON notifications (user_id, created_at DESC)
    WHERE visible AND NOT deleted;
CREATE INDEX notifications_user_unread ON notifications (user_id) WHERE NOT is_read AND visible AND NOT deleted;
CREATE INDEX notifications_group ON notifications (user_id, type, group_key, last_seen_at DESC);

CREATE TABLE deliveries (
    id uuid PRIMARY KEY,
    notification_id uuid NOT NULL REFERENCES notifications (id) ON DELETE CASCADE,
    user_id text NOT NULL,
    channel text NOT NULL,
    target text NOT NULL DEFAULT '',
    status text NOT NULL DEFAULT 'pending',
    attempts integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    locked_until timestamptz,
    last_error text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    sent_at timestamptz,
    UNIQUE (notification_id, channel, target)
);
CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE status IN ('pending', 'failed');
CREATE INDEX deliveries_dead ON deliveries (updated_at DESC) WHERE status = 'dead';

CREATE TABLE preferences (
    user_id text PRIMARY KEY,
    channels jsonb NOT NULL DEFAULT '{}',
    quiet_enabled boolean NOT NULL DEFAULT false,
    quiet_start text NOT NULL DEFAULT '22:00',
    quiet_end text NOT NULL DEFAULT '07:00',
    phone text,
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE webhooks (
    id uuid PRIMARY KEY,
    user_id text NOT NULL,
    url text NOT NULL,
    secret text NOT NULL,
    description text NOT NULL DEFAULT '',
    types text[] NOT NULL DEFAULT '{}',
    active boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhooks_user ON webhooks (user_id) WHERE active;

CREATE TABLE contacts (
    user_id text PRIMARY KEY,
    email text NOT NULL,
    name text NOT NULL DEFAULT '',
    updated_at timestamptz NOT NULL DEFAULT now()
);
