-- The README's shared-store walk-through: a fresh schema 'demo' and one login per demo user (password = name).
-- Run as the store's owner (the planner login .ci/postgres creates, which may create roles):
--   psql "$(bash .ci/postgres start)" -qf .ci/plan-store-demo.sql
SET client_min_messages = warning;
DROP SCHEMA IF EXISTS demo CASCADE;
CREATE SCHEMA demo;
SELECT format('CREATE ROLE %I LOGIN PASSWORD %L', name, name)
  FROM unnest(ARRAY['alice', 'bob', 'carol', 'dana']) AS name
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = name)\gexec
GRANT USAGE ON SCHEMA demo TO alice, bob, carol, dana;
ALTER DEFAULT PRIVILEGES IN SCHEMA demo GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO alice, bob, carol, dana;
ALTER DEFAULT PRIVILEGES IN SCHEMA demo GRANT USAGE, SELECT ON SEQUENCES TO alice, bob, carol, dana;
