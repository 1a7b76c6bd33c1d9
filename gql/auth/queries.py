"""Identity queries: the caller and their sessions."""

import strawberry

from gql.auth import sessions
from gql.auth.types import Session, User
from gql.graphql.context import Info
from gql.graphql.permissions import authenticated


@strawberry.type
class AuthQuery:
    @strawberry.field(description="The signed-in caller.", extensions=authenticated())
    async def me(self, info: Info) -> User:
        """UNAUTHENTICATED without a valid access token."""
        viewer = await info.context.require_viewer()
        return User.from_model(viewer.user)

    @strawberry.field(
        description="The caller's live sessions, most recently used first. Needs a signed-in "
        "caller.",
        extensions=authenticated(),
    )
    async def my_sessions(self, info: Info) -> list[Session]:
        """`current` marks the session of this request."""
        viewer = await info.context.require_viewer()
        async with info.context.session() as session:
            rows = await sessions.active_sessions(session, info.context.auth, viewer)
        return [Session.from_model(row, current_id=viewer.session_id) for row in rows]
