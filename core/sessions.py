"""Sessions in the database, as Django keeps them, without a look-up before each new one."""
from django.contrib.sessions.backends.base import VALID_KEY_CHARS
from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.utils.crypto import get_random_string


class SessionStore(DatabaseSessionStore):
    """Django's database session store, but a new session's key is not first looked up to see whether it is
    taken (a SELECT before every INSERT: every guest's first add to the cart opens a session). A key is 32
    characters from 36, about 165 random bits, and the session table's primary key refuses a duplicate anyway:
    the INSERT raises CreateError and Django's create() draws another key."""

    def _get_new_session_key(self) -> str:
        return get_random_string(32, VALID_KEY_CHARS)

    async def _aget_new_session_key(self) -> str:
        return self._get_new_session_key()
