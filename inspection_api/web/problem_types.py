"""Every problem type the API answers with: each ``InspectionError`` of every domain, the
refusals aiohttp makes itself, and the logged 500. The OpenAPI document lists them
(``components.x-problem-types``, the enum of ``Problem.code``); a test renders each in zh-CN.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

# Each domain's errors module, imported for its classes: a subclass exists once imported.
from inspection_api import errors
from inspection_api.anomalies import errors as anomaly_errors
from inspection_api.checkpoints import errors as checkpoint_errors
from inspection_api.inspections import errors as inspection_errors
from inspection_api.plans import errors as plan_errors
from inspection_api.rectifications import errors as rectification_errors
from inspection_api.sheets import errors as sheet_errors
from inspection_api.uploads import errors as upload_errors
from inspection_api.web.problems import (
    HTTP_PROBLEMS,
    INTERNAL_ERROR,
    OTHER_HTTP_PROBLEM,
    problem_type_uri,
    status_title,
)

ERROR_MODULES = (
    errors,
    anomaly_errors,
    checkpoint_errors,
    inspection_errors,
    plan_errors,
    rectification_errors,
    sheet_errors,
    upload_errors,
)


@dataclass(frozen=True)
class ProblemType:
    code: str
    status: int | None  # None: the status aiohttp refused with (OTHER_HTTP_PROBLEM)
    # What raises it: the error classes, or none (aiohttp's refusals, the 500).
    raised_by: tuple[type[errors.InspectionError], ...] = ()

    @property
    def uri(self) -> str:
        return problem_type_uri(self.code)


def error_classes() -> list[type[errors.InspectionError]]:
    """``InspectionError`` and every subclass, in definition order (the domains' modules
    loaded). A class without a code of its own is a family (``LocationRefused``): its
    members are listed, it is too, being raisable."""
    found: list[type[errors.InspectionError]] = []

    def walk(cls: type[errors.InspectionError]) -> Iterator[type[errors.InspectionError]]:
        yield cls
        for sub in cls.__subclasses__():
            yield from walk(sub)

    for cls in walk(errors.InspectionError):
        if cls not in found and cls.__module__ in {m.__name__ for m in ERROR_MODULES}:
            found.append(cls)
    return found


def problem_types() -> list[ProblemType]:
    """One entry per ``code``, sorted by status then code."""
    by_code: dict[str, ProblemType] = {}

    def add(code: str, status: int | None, cls: type[errors.InspectionError] | None) -> None:
        known = by_code.get(code)
        if known is not None and known.status != status:
            raise ValueError(f"problem code {code} has statuses {known.status} and {status}")
        raised_by = (known.raised_by if known else ()) + ((cls,) if cls else ())
        by_code[code] = ProblemType(code, status, raised_by)

    for cls in error_classes():
        add(cls.code, cls.status, cls)
    for status, problem in HTTP_PROBLEMS.items():
        add(problem.code, status, None)
    add(OTHER_HTTP_PROBLEM.code, None, None)
    add(INTERNAL_ERROR.code, 500, None)
    return sorted(by_code.values(), key=lambda p: (p.status or 0, p.code))


def openapi_problem_types() -> list[dict[str, object]]:
    """The problem types as the OpenAPI document lists them."""
    return [
        {
            "type": p.uri,
            "code": p.code,
            "status": p.status,
            **(
                {
                    "title": {
                        "zh-CN": status_title(p.status, "zh"),
                        "en": status_title(p.status, "en"),
                    }
                }
                if p.status is not None
                else {}
            ),
        }
        for p in problem_types()
    ]
