"""Services' refusals as problems: one mapping, so every resource answers them alike.

A service says why it refused (a translated message, the field, a status, a code); the API keeps
the message and the code (as the problem's ``type`` slug) and picks the status a client can act on:
404 (unknown or outside the scope), 403 (the role may not), 409 (the row's state forbids it, or a
conflict), 422 (the input). A customer outside the client's scope is a 404, never a 403.
Use ``with service_refusals():`` around a service call.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from flask_babel import gettext as _

from app.services.billing.errors import BillingError
from app.services.customer_profiles import ProfileError, ProfileNotFound
from app.services.scheduling.errors import SchedulingError
from app.services.training.errors import PlanError
from app.web.api.problems import ApiProblem

# The scheduling fields whose refusal is about the state of a row, not the input.
_STATE_FIELDS = frozenset({"session", "state"})


def _status(status: int, field: str | None) -> int:
    if status in (403, 404, 409):
        return status
    return 409 if field in _STATE_FIELDS else 422


@contextlib.contextmanager
def service_refusals() -> Iterator[None]:
    try:
        yield
    except SchedulingError as error:
        if error.status == 403 and error.field == "customer":
            # "not one of your customers": outside the client's scope, which the API never tells apart.
            raise ApiProblem(404, _("No such customer.")) from None
        errors = {error.field: [error.message]} if error.field else None
        slug = None if error.code in ("not_found", "forbidden") else error.code
        raise ApiProblem(_status(error.status, error.field), error.message, slug=slug, errors=errors) from None
    except PlanError as error:
        errors = {error.field: [error.message]} if error.field else None
        raise ApiProblem(_status(error.status, error.field), error.message, errors=errors) from None
    except BillingError as error:
        errors = {error.field: [str(error.message)]} if error.field else None
        slug = None if error.code in ("not_found", "invalid") else error.code
        raise ApiProblem(_status(error.status, error.field), str(error.message), slug=slug, errors=errors) from None
    except ProfileNotFound as error:
        raise ApiProblem(404, str(error)) from None
    except ProfileError as error:
        raise ApiProblem(422, str(error), errors={error.field or "_schema": [str(error)]}) from None
