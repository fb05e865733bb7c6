"""Local accounts for the web pages: role, Argon2 password hash, lock-out after repeated
failures."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import delete, insert, select, update

from segmentation.store.base import StoreBase
from segmentation.store.schema import as_utc, utcnow, web_users


class WebUsers(StoreBase):
    """Accounts of people who sign in to the pages."""

    def add_user(self, name: str, role: str, password_hash: str) -> None:
        """Create or replace an account (a new password clears any lock-out)."""
        with self.begin() as connection:
            connection.execute(delete(web_users).where(web_users.c.name == name))
            connection.execute(
                insert(web_users).values(
                    name=name,
                    role=role,
                    password_hash=password_hash,
                    failed_attempts=0,
                    locked_until=None,
                    created_at=utcnow(),
                )
            )

    def web_user(self, name: str) -> dict[str, Any] | None:
        with self.engine.connect() as connection:
            row = connection.execute(select(web_users).where(web_users.c.name == name)).first()
        if row is None:
            return None
        user = dict(row._mapping)
        user["locked_until"] = as_utc(user["locked_until"])
        return user

    def failed_login(self, name: str, *, limit: int, lock: dt.timedelta) -> None:
        """Count a failed sign-in; the ``limit``-th in a row locks the account for ``lock``."""
        with self.begin() as connection:
            row = connection.execute(
                select(web_users.c.failed_attempts).where(web_users.c.name == name)
            ).first()
            if row is None:
                return
            attempts = int(row.failed_attempts) + 1
            values: dict[str, Any] = {"failed_attempts": attempts}
            if attempts >= limit:
                values = {"failed_attempts": 0, "locked_until": utcnow() + lock}
            connection.execute(update(web_users).where(web_users.c.name == name).values(**values))

    def signed_in(self, name: str) -> None:
        with self.begin() as connection:
            connection.execute(
                update(web_users)
                .where(web_users.c.name == name)
                .values(failed_attempts=0, locked_until=None)
            )
