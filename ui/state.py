"""What every page shares: the runtime (one per process) and who is using it (per browser: the
signed-in user, or in demo mode the user chosen under "Acting as"; see :mod:`lamworks.ui.signin`).

The runtime keeps no per-user state in memory — sessions, confirmations and the audit log live
in SQLite — so any number of Streamlit replicas can serve the same institution.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Callable

import streamlit as st
from streamlit.runtime.scriptrunner_utils.exceptions import ScriptControlException

from lamworks import Runtime

__all__ = ["current_user", "guarded", "runtime", "session_id", "use_session"]

log = logging.getLogger("lamworks.ui")


@st.cache_resource(show_spinner="Starting lamworks…")
def _runtime(config_path: str) -> Runtime:
    return Runtime.from_config(config_path)


def runtime() -> Runtime:
    """The process-wide runtime for ``LAMWORKS_CONFIG``."""
    return _runtime(os.environ.get("LAMWORKS_CONFIG", "lamworks.toml"))


def current_user() -> str:
    """The person using the app: the signed-in user or, in demo mode, the user chosen under
    "Acting as". When nobody is signed in, the sign-in page is drawn and the script stops."""
    from lamworks.ui.signin import signed_in  # it imports this module

    return signed_in().username


def session_id() -> str:
    """This browser tab's conversation id for the current user (a new one per user switch;
    the Chat page changes it for "New chat", an earlier chat or its ``?c=<id>`` address)."""
    key = f"session-{current_user()}"
    if key not in st.session_state:
        st.session_state[key] = f"web-{uuid.uuid4().hex[:12]}"
    return str(st.session_state[key])


def use_session(conversation_id: str) -> None:
    """Make ``conversation_id`` this tab's conversation for the current user (the Chat page
    checks first that it is theirs: :func:`lamworks.ui.conversations.open_conversation`)."""
    st.session_state[f"session-{current_user()}"] = conversation_id


def guarded(render: Callable[[], None]) -> None:
    """Run a page; an unexpected error shows a short message with a reference, never a
    traceback. The reference is in the server log next to the full traceback."""
    try:
        render()
    except ScriptControlException:
        raise  # st.rerun() and st.stop() travel as exceptions
    except Exception:
        reference = uuid.uuid4().hex[:8]
        log.exception("UI error (ref %s)", reference)
        st.error(f"Something went wrong on our side (reference {reference}). "
                 "Please try again; if it keeps happening, give this reference to support.")
