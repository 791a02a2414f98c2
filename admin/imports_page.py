"""The Imports page: upload a file of VIP status from another app (with its column mapping, or
as a dry run first), the shop's imports with their progress, and one import's log."""

from __future__ import annotations

from starlette.datastructures import UploadFile
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from admin.context import AdminContext
from admin.import_files import FIELDS, MAX_BYTES
from admin.page_view import Pages, View

# What each field of the mapping is called on the page.
FIELD_LABELS = {
    "customer_id": "Shopify customer ID",
    "email": "Email",
    "tier": "Tier",
    "expires_on": "Tier expires on (YYYY-MM-DD)",
}
STATUS_TONES = {
    "pending": "info",
    "processing": "info",
    "completed": "success",
    "failed": "critical",
    "cancelled": "",
}


def import_page_routes(ctx: AdminContext) -> list[Route]:
    page = Pages(ctx)

    async def imports_page(view: View) -> Response:
        error, values = None, {"source": "", "dry_run": True, **{f"map.{f}": "" for f in FIELDS}}
        if view.posted:
            async with view.request.form(max_files=1, max_fields=20) as form:
                file = form.get("file")
                values = {k: str(form.get(k, "")) for k in values} | {"dry_run": form.get("dry_run") == "on"}
                if not isinstance(file, UploadFile) or not file.filename:
                    error = "Choose a CSV or JSON Lines file."
                else:
                    data = await file.read(MAX_BYTES + 1)
                    fields = {k: v for k, v in values.items() if isinstance(v, str) and v}
                    if values["dry_run"]:
                        fields["dry_run"] = "1"
                    answer = await view.api.send(
                        "POST",
                        "/api/imports",
                        files={"file": (file.filename, data, file.content_type or "text/csv")},
                        data=fields,
                        ok=(422,),
                    )
                    if "id" in answer:
                        return RedirectResponse(view.url("import", import_id=answer["id"]), status_code=303)
                    error = answer.get("error") or ", ".join(answer.get("errors", {}).values())
        listing = await view.api.get("/api/imports")
        return view.render(
            "imports.html",
            title="Imports",
            imports=listing["imports"],
            running=any(i["status"] in ("pending", "processing") for i in listing["imports"]),
            error=error,
            values=values,
            fields=FIELD_LABELS,
            tones=STATUS_TONES,
            most_mb=MAX_BYTES // (1024 * 1024),
        )

    async def import_page(view: View) -> Response:
        import_id = view.request.path_params["import_id"]
        if view.posted:
            await view.api.send("POST", f"/api/imports/{import_id}/cancel", ok=(404, 409))
            return RedirectResponse(view.url("import", import_id=import_id), status_code=303)
        record = await view.api.get(f"/api/imports/{import_id}", ok=(404,))
        if "id" not in record:
            return view.render(
                "unavailable.html", 404, title="Import not found", reason="No such import.", tone="warning"
            )
        return view.render(
            "import.html",
            title=f"Import {record['filename']}",
            record=record,
            running=record["status"] in ("pending", "processing"),
            fields=FIELD_LABELS,
            tones=STATUS_TONES,
            rejected_url=view.api_url(f"imports/{import_id}/rejected.csv"),
        )

    async def tier_floor(view: View) -> Response:
        """The customer page's override form: set or remove the customer's tier floor."""
        customer_id = view.request.path_params["customer_id"]
        form = await view.request.form()
        path = f"/api/customers/{customer_id}/tier-floor"
        if form.get("intent") == "remove":
            await view.api.send("DELETE", path)
        else:
            body = {"tier": str(form.get("tier", "")), "until": str(form.get("until", "")) or None}
            await view.api.send("PUT", path, json=body, ok=(404, 422))
        return RedirectResponse(view.url("customer", customer_id=customer_id), status_code=303)

    return [
        Route(
            "/customers/{customer_id:int}/tier-floor",
            page("tier_floor", tier_floor),
            methods=["POST"],
            name="tier_floor",
        ),
        Route("/imports", page("imports", imports_page), methods=["GET", "POST"], name="imports"),
        Route("/imports/{import_id}", page("import", import_page), methods=["GET", "POST"], name="import"),
    ]
