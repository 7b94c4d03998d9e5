"""The staff page for data requests: /customers (find, export link, erase form for admins)."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Redirect, Template

from feedback.auth.guards import provide_principal
from feedback.auth.permissions import allow, request_team
from feedback.deps import Conf, Db, Now
from feedback.privacy import repository, service
from feedback.privacy.schemas import customer_json, parse_erase
from surveys.errors import ValidationFailed

Form = Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)]


def _page(request: Request[Any, Any, Any], db: Db, settings: Conf, *, error: str | None = None,
          notice: str | None = None, status: int = 200) -> Template:
    principal = provide_principal(request)
    q = {k: request.query_params.get(k) for k in ("external_id", "email", "phone")}
    searched = any(q.values())
    customers: list[dict[str, Any]] = []
    if searched and error is None:
        try:
            found = service.find(db, **q, team=request_team(request),
                                 phone_region=settings.default_phone_region)
            customers = [customer_json(c, repository.erasure(db, int(c.id or 0)) is not None)
                         for c in found]
        except ValidationFailed as exc:
            error, status = exc.message, 422
    return Template(template_name="privacy/customers.html", status_code=status, context={
        "q": q, "searched": searched, "customers": customers, "error": error, "notice": notice,
        "can_export": principal.can("customer.export"),
        "can_erase": principal.can("customer.erase")})


@get("/customers", sync_to_thread=True, guards=[allow("customer.find")],
     include_in_schema=False)
def customers_page(request: Request[Any, Any, Any], db: Db, settings: Conf) -> Template:
    notice = "Customer erased." if request.query_params.get("done") == "erased" else None
    return _page(request, db, settings, notice=notice)


@post("/customers/{customer_id:int}/erase", sync_to_thread=True, guards=[allow("customer.erase")],
      include_in_schema=False)
def erase_form(customer_id: int, request: Request[Any, Any, Any], db: Db, now: Now,
               settings: Conf, data: Form) -> Template | Redirect:
    try:
        body = parse_erase({"reason": data.get("reason", "")})
        service.erase(db, customer_id, reason=body.reason, actor=provide_principal(request).name,
                      now=now, key=settings.secret_key)
    except ValidationFailed as exc:
        return _page(request, db, settings, error=exc.message, status=422)
    return Redirect("/customers?done=erased", status_code=303)


routes = [customers_page, erase_form]
