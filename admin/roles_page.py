"""The Roles page: the staff member's own role, and for an owner everyone's, to change."""

from __future__ import annotations

from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from admin.context import AdminContext
from admin.page_view import Pages, View

ROLE_LABELS: dict[str, str] = {
    "owner": "Owner: everything, including roles",
    "editor": "Editor: settings, VIP program, imports, backfill",
    "viewer": "Viewer: looks, changes nothing",
}


def roles_page_routes(ctx: AdminContext) -> list[Route]:
    page = Pages(ctx)

    async def roles_page(view: View) -> Response:
        errors: dict[str, str] = {}
        if view.posted and view.member.role == "owner":
            form = await view.request.form()
            staff = {
                key.removeprefix("role."): (str(value) or None)
                for key, value in form.items()
                if key.startswith("role.")
            }
            body = {"default_role": str(form.get("default_role", "")) or None, "staff": staff}
            answer = await view.api.put("/api/roles", body, ok=(422,))
            if "errors" not in answer:
                return RedirectResponse(view.url("roles", saved=1), status_code=303)
            errors = answer["errors"]
        listing = await view.api.get("/api/roles")
        return view.render(
            "roles.html",
            title="Roles",
            listing=listing,
            labels=ROLE_LABELS,
            errors=errors,
            saved=view.request.query_params.get("saved") == "1" and not view.posted,
        )

    return [Route("/roles", page("roles", roles_page), methods=["GET", "POST"], name="roles")]
