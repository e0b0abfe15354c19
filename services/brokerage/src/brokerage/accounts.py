"""Linked accounts: link (token or API-key consent), paper, test, status, update, unlink, kill."""

from __future__ import annotations

import contextlib
import uuid
from decimal import Decimal
from typing import Any

from contracts import brokerage as c
from contracts.events import orders as ev
from contracts.orders import OrderStatus as S
from contracts.types import utcnow
from svckit.errors import Unavailable, ValidationFailed

from . import publish
from . import repository as repo
from .adapters.base import BrokerAuthFailed, BrokerError, BrokerRejected, BrokerRetryable
from .adapters.dhan.consent import ConsentClient
from .adapters.dhan.execution import DhanAdapter
from .adapters.dhan.parsing import token_validity
from .errors import AccountNotFound, AccountNotTradable, BrokerRefused
from .ordering import Orders

_CENT = Decimal("0.01")


def account_reply(row: Any) -> c.Account:
    """Map an account row to the reply model (no credential field exists on it)."""
    return c.Account(
        id=str(row["id"]), broker=c.Broker(row["broker"]), label=row["label"],
        dhan_client_id=row["dhan_client_id"], status=c.AccountStatus(row["status"]),
        starting_capital=row["starting_capital"], has_api_key=row["has_api_key"],
        token_expires_at=row["token_expires_at"], last_synced_at=row["last_synced_at"],
        kill_switch=row["kill_switch"], created_at=row["created_at"],
        updated_at=row["updated_at"])


class Accounts:
    """Account use cases; `orders` gives the pool, brokers, clock and settings."""

    def __init__(self, orders: Orders) -> None:
        self.o = orders
        self.consent = ConsentClient(orders.s.dhan_auth_base, orders.s.dhan_timeout_s)

    async def _mine(self, user_id: str, account_id: str) -> Any:
        async with self.o.pool.acquire() as conn:
            row = await repo.get_account(conn, account_id, user_id)
        if row is None:
            raise AccountNotFound()
        return row

    async def _check_token(self, client_id: str, token: str) -> Any:
        """Call profile + funds with a candidate token; refuse it if Dhan does."""
        adapter = DhanAdapter(self.o.brokers.dhan_client(client_id, token))
        try:
            profile = await adapter.profile()
            await adapter.funds()
        except BrokerAuthFailed as exc:
            raise ValidationFailed("Dhan refused this client id and access token") from exc
        except BrokerRetryable as exc:
            raise Unavailable("Dhan is not answering; try again shortly") from exc
        except BrokerRejected as exc:
            raise BrokerRefused(f"Dhan refused: {exc.message}") from exc
        finally:
            await adapter.close()
        if profile.client_id and profile.client_id != client_id:
            raise ValidationFailed("The access token belongs to another Dhan client id")
        return token_validity(profile.token_validity)

    async def link(self, user_id: str, req: c.LinkAccount) -> c.Account:
        """Link a Dhan account (token checked first) or open a paper account."""
        account_id = uuid.uuid4()
        fields: dict[str, Any] = {"id": account_id, "user_id": user_id, "broker": req.broker.value,
                                  "label": req.label, "status": "active"}
        if req.broker is c.Broker.PAPER:
            fields["starting_capital"] = req.starting_capital or self.o.s.paper_default_capital
            fields["label"] = req.label or "Paper"
        else:
            token = req.access_token.get_secret_value()
            expires = await self._check_token(req.dhan_client_id, token)
            fields.update(dhan_client_id=req.dhan_client_id, token_expires_at=expires,
                          credentials=self.o.brokers.seal(user_id, str(account_id),
                                                          {"accessToken": token}),
                          credential_kid=self.o.brokers.keyring.active,
                          label=req.label or f"Dhan {req.dhan_client_id[-4:]}")
        async with self.o.pool.acquire() as conn, conn.transaction():
            row = await repo.insert_account(conn, **fields)
            await publish.account(conn, ev.AccountLinked, row, self.o.clock)
        self.o.brokers.start_stream(row)
        return account_reply(row)

    async def start_consent(self, user_id: str, req: c.StartConsent) -> c.ConsentStarted:
        """Generate a Dhan consent with the user's API key pair; answer the login URL."""
        key, secret = req.api_key.get_secret_value(), req.api_secret.get_secret_value()
        try:
            consent_id = await self.consent.generate(req.dhan_client_id, key, secret)
        except BrokerAuthFailed as exc:
            raise ValidationFailed(f"Dhan refused the API key: {exc.message}") from exc
        except BrokerRetryable as exc:
            raise Unavailable("Dhan is not answering; try again shortly") from exc
        async with self.o.pool.acquire() as conn, conn.transaction():
            if req.account_id:
                row = await repo.get_account(conn, req.account_id, user_id, lock=True)
                if row is None or row["broker"] != "dhan":
                    raise AccountNotFound()
                secrets = self.o.brokers.open(row) if row["credentials"] else {}
                secrets.update(apiKey=key, apiSecret=secret)
                row = await repo.update_account(
                    conn, str(row["id"]), has_api_key=True,
                    credentials=self.o.brokers.seal(user_id, str(row["id"]), secrets),
                    credential_kid=self.o.brokers.keyring.active)
            else:
                account_id = uuid.uuid4()
                row = await repo.insert_account(
                    conn, id=account_id, user_id=user_id, broker="dhan",
                    label=req.label or f"Dhan {req.dhan_client_id[-4:]}",
                    dhan_client_id=req.dhan_client_id, status="pending_consent",
                    has_api_key=True, credential_kid=self.o.brokers.keyring.active,
                    credentials=self.o.brokers.seal(user_id, str(account_id),
                                                    {"apiKey": key, "apiSecret": secret}))
        return c.ConsentStarted(account_id=str(row["id"]), login_url=self.consent.login_url(
            consent_id, self.o.s.consent_redirect_url))

    async def complete_consent(self, user_id: str, req: c.CompleteConsent) -> c.Account:
        """Exchange the redirect's tokenId for an access token and activate the account."""
        row = await self._mine(user_id, req.account_id)
        secrets = self.o.brokers.open(row) if row["credentials"] else {}
        if not secrets.get("apiKey"):
            raise ValidationFailed("Start the consent flow first")
        try:
            got = await self.consent.consume(req.token_id, secrets["apiKey"], secrets["apiSecret"])
        except BrokerAuthFailed as exc:
            raise ValidationFailed(f"Dhan refused the consent: {exc.message}") from exc
        except BrokerRetryable as exc:
            raise Unavailable("Dhan is not answering; try again shortly") from exc
        if got.client_id and got.client_id != row["dhan_client_id"]:
            raise ValidationFailed("The consent belongs to another Dhan client id")
        secrets["accessToken"] = got.access_token
        return await self._activate(row, secrets, got.expires_at)

    async def _activate(self, row: Any, secrets: dict[str, str], expires: Any) -> c.Account:
        first = row["status"] == "pending_consent"
        await self.o.brokers.forget(str(row["id"]))
        async with self.o.pool.acquire() as conn, conn.transaction():
            row = await repo.update_account(
                conn, str(row["id"]), status="active", last_error=None, token_expires_at=expires,
                credentials=self.o.brokers.seal(row["user_id"], str(row["id"]), secrets),
                credential_kid=self.o.brokers.keyring.active)
            if first:
                await publish.account(conn, ev.AccountLinked, row, self.o.clock)
        self.o.brokers.start_stream(row)
        return account_reply(row)

    async def update(self, user_id: str, req: c.UpdateAccount) -> c.Account:
        """Relabel, (de)activate, or give a fresh access token (checked first)."""
        row = await self._mine(user_id, req.account_id)
        if req.access_token is not None:
            if row["broker"] != "dhan":
                raise ValidationFailed("A paper account has no access token")
            token = req.access_token.get_secret_value()
            expires = await self._check_token(row["dhan_client_id"], token)
            secrets = self.o.brokers.open(row) if row["credentials"] else {}
            secrets["accessToken"] = token
            await self._activate(row, secrets, expires)
        changes: dict[str, Any] = {}
        if req.label is not None:
            changes["label"] = req.label
        if req.is_active is not None:
            changes["status"] = "active" if req.is_active else "inactive"
        async with self.o.pool.acquire() as conn:
            row = await repo.get_account(conn, req.account_id, user_id)
            if changes:
                row = await repo.update_account(conn, str(row["id"]), **changes)
        if changes.get("status") == "inactive":
            await self.o.brokers.forget(str(row["id"]))
        return account_reply(row)

    async def unlink(self, user_id: str, account_id: str) -> None:
        """Unlink an account: its credentials are erased, its history stays."""
        row = await self._mine(user_id, account_id)
        async with self.o.pool.acquire() as conn:
            open_count, _ = await repo.count_open(conn, account_id)
        if open_count:
            raise AccountNotTradable("Cancel the account's open orders first")
        await self.o.brokers.forget(account_id)
        async with self.o.pool.acquire() as conn, conn.transaction():
            row = await repo.update_account(conn, account_id, credentials=None,
                                            credential_kid=None, status="inactive",
                                            unlinked_at=utcnow())
            await publish.account(conn, ev.AccountUnlinked, row, self.o.clock)

    async def test(self, user_id: str, account_id: str) -> c.ConnectionTest:
        """Round-trip profile + funds; an expired token moves the account to reauth."""
        row = await self._mine(user_id, account_id)
        if row["status"] == "pending_consent":
            return c.ConnectionTest(ok=False, status=c.AccountStatus.PENDING_CONSENT,
                                    message="Finish the consent flow first")
        adapter = self.o.brokers.adapter(row)
        try:
            profile = await adapter.profile()
            funds = await adapter.funds()
        except BrokerAuthFailed:
            await self.o.reauth(account_id)
            return c.ConnectionTest(ok=False, status=c.AccountStatus.REAUTH_REQUIRED,
                                    message="The broker refused the access token")
        except BrokerError as exc:
            return c.ConnectionTest(ok=False, status=c.AccountStatus(row["status"]),
                                    message=f"The broker did not answer: {exc.message}")
        async with self.o.pool.acquire() as conn:
            row = await repo.update_account(conn, account_id, last_synced_at=utcnow())
        return c.ConnectionTest(ok=True, status=c.AccountStatus(row["status"]),
                                active_segments=profile.active_segments,
                                token_validity=profile.token_validity,
                                available_balance=funds.available.quantize(_CENT))

    async def status(self, user_id: str, account_id: str) -> c.AccountHealth:
        """Return an account's trading health."""
        row = await self._mine(user_id, account_id)
        async with self.o.pool.acquire() as conn:
            open_count, unknown = await repo.count_open(conn, account_id)
        return c.AccountHealth(account_id=account_id, status=c.AccountStatus(row["status"]),
                               circuit=self.o.brokers.breaker_state(account_id),
                               kill_switch=row["kill_switch"], open_orders=open_count,
                               unknown_orders=unknown, last_error=row["last_error"],
                               last_synced_at=row["last_synced_at"])

    async def list(self, user_id: str) -> c.AccountList:
        """Return the user's accounts."""
        async with self.o.pool.acquire() as conn:
            rows = await repo.list_accounts(conn, user_id)
        return c.AccountList(items=[account_reply(r) for r in rows])

    async def get(self, user_id: str, account_id: str) -> c.Account:
        """Return one of the user's accounts."""
        return account_reply(await self._mine(user_id, account_id))

    async def kill_switch(self, user_id: str, req: c.SetKillSwitch) -> c.KillSwitchState:
        """Block (or allow) trading on one or all accounts, cancelling open orders first."""
        rows = [await self._mine(user_id, req.account_id)] if req.account_id else \
            await self.list_rows(user_id)
        cancelled, state = 0, {}
        for row in rows:
            aid = str(row["id"])
            async with self.o.pool.acquire() as conn:
                await repo.update_account(conn, aid, kill_switch=req.activate)
            if req.activate and req.cancel_open_orders and row["status"] == "active":
                cancelled += await self._cancel_all(row)
            if row["broker"] == "dhan" and row["status"] == "active":
                # Dhan's own switch is best effort: it refuses while positions are open.
                with contextlib.suppress(BrokerError):
                    await self.o.brokers.adapter(row).kill_switch(req.activate)
            state[aid] = req.activate
        return c.KillSwitchState(accounts=state, cancelled_orders=cancelled)

    async def list_rows(self, user_id: str) -> list[Any]:
        """Return the user's account rows."""
        async with self.o.pool.acquire() as conn:
            return await repo.list_accounts(conn, user_id)

    async def _cancel_all(self, row: Any) -> int:
        async with self.o.pool.acquire() as conn:
            orders = await repo.open_orders(conn, str(row["id"]))
        adapter, count = self.o.brokers.adapter(row), 0
        for order in orders:
            if order["status"] in (S.ACCEPTED, S.PARTIALLY_FILLED, S.PLACED) \
                    and order["broker_order_id"]:
                try:
                    done = await adapter.cancel(order["broker_order_id"])
                except BrokerError:
                    continue
                await self.o.on_update(str(row["id"]), done)
                count += 1
        return count

