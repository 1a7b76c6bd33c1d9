"""The process's PostgreSQL connection for stock events: it LISTENs for other processes'
commits and NOTIFYs this one's, never from a writing transaction."""

import asyncio
import contextlib
import logging
from collections.abc import Callable

import asyncpg
from sqlalchemy.engine import make_url

from gql.core.db import Database
from gql.inventory.events import CHANNEL

logger = logging.getLogger("gql.events")

# The application_name of each process's listener connection (pg_stat_activity).
LISTENER_NAME = "gql stock events"


class Listener:
    """Wakes the tailer when another process committed ledger rows; sends one NOTIFY for
    all of this process's commits since its previous one (`tell`)."""

    def __init__(self, database: Database, wake: Callable[[], None]) -> None:
        self.database = database
        self.wake = wake
        # Commits of this process that the other processes have not been told of yet.
        self._untold = asyncio.Event()

    def tell(self) -> None:
        """This process committed ledger rows: NOTIFY the others soon."""
        self._untold.set()

    async def run(self) -> None:
        """LISTEN on PostgreSQL and NOTIFY this process's commits, one NOTIFY for all those
        made while the previous one was sent; after a lost connection, reconnect and catch
        up."""
        url = make_url(self.database.url).set(drivername="postgresql")
        dsn = url.render_as_string(hide_password=False)
        delay = 0.5
        while True:
            connection = None
            try:
                connection = await asyncpg.connect(
                    dsn, timeout=10, server_settings={"application_name": LISTENER_NAME}
                )
                lost = asyncio.Event()

                def on_lost(_: object, lost: asyncio.Event = lost) -> None:
                    lost.set()
                    self._untold.set()  # stops the wait below

                connection.add_termination_listener(on_lost)
                own_pid = connection.get_server_pid()

                def on_notify(_: object, pid: int, *__: object, own_pid: int = own_pid) -> None:
                    if pid != own_pid:  # this process knows of its own commits
                        self.wake()

                await connection.add_listener(CHANNEL, on_notify)
                delay = 0.5
                self.wake()  # catch up with what was committed while not listening
                while not lost.is_set() and not connection.is_closed():
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._untold.wait(), timeout=2)
                    if lost.is_set():
                        break
                    if self._untold.is_set():
                        self._untold.clear()
                        await connection.execute(f"NOTIFY {CHANNEL}")
                    else:
                        await connection.execute("SELECT 1")
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.warning("stock event listener lost PostgreSQL; reconnecting", exc_info=True)
            finally:
                if connection is not None and not connection.is_closed():
                    with contextlib.suppress(Exception):
                        await connection.close(timeout=2)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10)
