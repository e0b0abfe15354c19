-- One schema and one LOGIN role per service, with rights on that schema only
-- (ARCHITECTURE.md §1). Dev passwords only; production roles are made by ops.
\set ON_ERROR_STOP on
CREATE ROLE auth LOGIN PASSWORD 'auth-dev-db';
CREATE ROLE brokerage LOGIN PASSWORD 'brokerage-dev-db';
CREATE ROLE marketdata LOGIN PASSWORD 'marketdata-dev-db';
CREATE ROLE execution LOGIN PASSWORD 'execution-dev-db';
CREATE ROLE backtest LOGIN PASSWORD 'backtest-dev-db';
CREATE ROLE notify LOGIN PASSWORD 'notify-dev-db';
REVOKE ALL ON SCHEMA public FROM PUBLIC;
CREATE SCHEMA auth AUTHORIZATION auth;
CREATE SCHEMA brokerage AUTHORIZATION brokerage;
CREATE SCHEMA marketdata AUTHORIZATION marketdata;
CREATE SCHEMA execution AUTHORIZATION execution;
CREATE SCHEMA backtest AUTHORIZATION backtest;
CREATE SCHEMA notify AUTHORIZATION notify;
