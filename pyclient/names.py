"""How a person is named on screen. Pure.

The username is the identity (unique, never a look-alike of another); a display
name is whatever the person chose, so it is always shown with the username
beside it and can never pass for someone else.
"""


def label(user: dict) -> str:
    display = (user.get("display_name") or "").strip()
    username = user["username"]
    return f"{display} ({username})" if display and display != username else username
