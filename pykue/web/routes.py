"""The JSON API's route table: Kue 0.11.6's routes (``lib/http/index.js``), in its order.

Each handler only checks its parameters and calls the module that does the work
(:mod:`~pykue.web.reads`, :mod:`~pykue.web.kue_json`, :mod:`~pykue.web.search`,
:mod:`~pykue.web.create`, :mod:`~pykue.web.moves`). The queue comes from the app
(``app.state.queue``) as a dependency; state changes depend on the token check.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.responses import JSONResponse

from pykue import admin
from pykue.job import PRIORITIES
from pykue.keys import STATES
from pykue.queue import Queue
from pykue.web import create, errors, moves, params, reads, schema, search, token
from pykue.web.errors import ApiError
from pykue.web.kue_json import job_json
from pykue.web.params import Range


def get_queue(request: Request) -> Queue:
    """The queue this app serves."""
    return request.app.state.queue


QueueDep = Annotated[Queue, Depends(get_queue)]
JobId = Annotated[str, Path(json_schema_extra=schema.path(params.ID_PATTERN))]
State = Annotated[str, Path(json_schema_extra=schema.STATE)]
JobType = Annotated[str, Path(json_schema_extra=schema.TYPE)]
From = Annotated[str, Path(json_schema_extra=schema.path(params.FROM_PATTERN))]
To = Annotated[str, Path(json_schema_extra=schema.path(params.TO_PATTERN))]
Order = Annotated[str, Path(json_schema_extra=schema.path(enum=params.ORDERS))]
CHANGE = [Depends(token.require_token)]

router = APIRouter()
READ = schema.responses(schema.BAD)
READ_JOB = schema.responses(schema.BAD, schema.NO_JOB)
MOVE = schema.responses(schema.BAD, schema.NO_TOKEN, schema.NO_JOB)
LIST = {200: schema.reply("Jobs as Kue's JSON", {"type": "array", "items": schema.JOB})}


def _jobs(queue: Queue, ids: list[int]) -> JSONResponse:
    return JSONResponse([job_json(f, id_as_text=False) for f in reads.job_hashes(queue, ids)])


def _missing(job_id: int) -> ApiError:
    return ApiError(404, f"job {job_id} not found")


@router.get("/stats", summary="Counts per state (Kue's /stats)")
def stats(queue: QueueDep) -> dict[str, Any]:
    body: dict[str, Any] = {f"{s}Count": reads.count(queue, s) for s in STATES}
    body["workTime"] = None  # Kue's total work time: pykue does not record it yet
    return body


@router.get(
    "/job/search",
    summary="Ids (as strings) of the jobs whose type or data hold every word of q",
    responses={**READ, 200: schema.reply("Ids", {"type": "array", "items": schema.TEXT})},
)
def job_search(
    queue: QueueDep, q: Annotated[str | None, Query(max_length=search.MAX_QUERY)] = None
) -> JSONResponse:
    return JSONResponse(search.search(queue, q))


@router.get(
    "/jobs/{start}..{stop}/{order}", summary="Every job, Kue's order", responses=LIST | READ
)
def jobs_all(queue: QueueDep, start: From, stop: To, order: Order) -> JSONResponse:
    return _jobs(queue, reads.ids_in_kue_order(queue, params.job_range(start, stop, order)))


@router.get("/jobs/{start}..{stop}", include_in_schema=False)
def jobs_all_asc(queue: QueueDep, start: str, stop: str) -> JSONResponse:
    return jobs_all(queue, start, stop, "asc")


def _in_state(queue: Queue, state: str, job_type: str | None, rng: Range) -> JSONResponse:
    return _jobs(queue, reads.ids_in_state(queue, params.state(state), job_type, rng))


@router.get(
    "/jobs/{job_type}/{state}/{start}..{stop}/{order}",
    summary="Jobs of one type in one state",
    responses=LIST | READ,
)
def jobs_type_state(
    queue: QueueDep, job_type: JobType, state: State, start: From, stop: To, order: Order
) -> JSONResponse:
    rng = params.job_range(start, stop, order)
    return _in_state(queue, state, params.job_type(job_type), rng)


@router.get("/jobs/{job_type}/{state}/{start}..{stop}", include_in_schema=False)
def jobs_type_state_asc(
    queue: QueueDep, job_type: str, state: str, start: str, stop: str
) -> JSONResponse:
    return jobs_type_state(queue, job_type, state, start, stop, "asc")


@router.get(
    "/jobs/{job_type}/{state}/stats", summary="Count of one type in one state", responses=READ
)
def type_state_stats(queue: QueueDep, job_type: JobType, state: State) -> dict[str, int]:
    return {"count": reads.count(queue, params.state(state), params.job_type(job_type))}


@router.get(
    "/jobs/{state}/{start}..{stop}/{order}", summary="Jobs in one state", responses=LIST | READ
)
def jobs_state(queue: QueueDep, state: State, start: From, stop: To, order: Order) -> JSONResponse:
    return _in_state(queue, state, None, params.job_range(start, stop, order))


@router.get("/jobs/{state}/{start}..{stop}", include_in_schema=False)
def jobs_state_asc(queue: QueueDep, state: str, start: str, stop: str) -> JSONResponse:
    return jobs_state(queue, state, start, stop, "asc")


@router.get("/job/types", summary="Every job type")
def job_types(queue: QueueDep) -> list[str]:
    return reads.types(queue)


def method_not_allowed(request: Request) -> None:
    """``/job/search`` and ``/job/types`` are read-only: not job ids to change or delete."""
    raise ApiError(405, f"{request.method} is not allowed here: use GET", {"Allow": "GET"})


for reserved in ("/job/search", "/job/types"):
    router.add_api_route(
        reserved,
        method_not_allowed,
        methods=["POST", "PUT", "PATCH", "DELETE"],
        name=errors.NOT_ALLOWED,
        include_in_schema=False,
    )


@router.get(
    "/job/{job_id}",
    summary="One job as Kue's JSON (its id as a string, as Kue sends it)",
    responses=READ_JOB | {200: schema.reply("The job", schema.JOB)},
)
def get_job(queue: QueueDep, job_id: JobId) -> JSONResponse:
    number = params.job_id(job_id)
    fields = reads.job_hash(queue, number)
    if fields is None:
        raise _missing(number)
    return JSONResponse(job_json(fields, id_as_text=True))


@router.get("/job/{job_id}/log", summary="A job's log lines", responses=READ_JOB)
def get_log(queue: QueueDep, job_id: JobId) -> list[str]:
    number = params.job_id(job_id)
    lines = reads.log_lines(queue, number)
    if lines is None:
        raise _missing(number)
    return lines


@router.put(
    "/job/{job_id}/state/{state}",
    summary="Move a job (inactive = restart; active = held until its lease lapses)",
    dependencies=CHANGE,
    responses=MOVE | schema.CHANGED,
)
def put_state(queue: QueueDep, job_id: JobId, state: State) -> dict[str, str]:
    number = params.job_id(job_id)
    if not moves.set_state(queue, number, params.state(state)):
        raise _missing(number)
    return {"message": "updated state"}


@router.put(
    "/job/{job_id}/priority/{priority}",
    summary="Change a job's priority (a name or an integer in -4095..4095)",
    dependencies=CHANGE,
    responses=MOVE,
)
def put_priority(
    queue: QueueDep,
    job_id: JobId,
    priority: Annotated[str, Path(json_schema_extra=schema.path(schema.PRIORITY_PATTERN))],
) -> dict[str, str]:
    number = params.job_id(job_id)
    if not re.fullmatch(schema.PRIORITY_PATTERN, priority):
        names = ", ".join(PRIORITIES)
        raise ApiError(400, f"priority must be one of {names} or an integer in -4095..4095")
    if not moves.set_priority(queue, number, priority):
        raise _missing(number)
    return {"message": "updated priority"}


@router.delete("/job/{job_id}", summary="Delete a job", dependencies=CHANGE, responses=MOVE)
def delete_job(queue: QueueDep, job_id: JobId) -> dict[str, str]:
    number = params.job_id(job_id)
    if not admin.remove(queue, number):
        raise _missing(number)
    return {"message": f"job {number} removed"}


@router.post(
    "/job",
    summary="Create a job or a list of jobs",
    dependencies=CHANGE,
    responses={
        200: schema.reply(
            "Created: one entry, or one per job of the list",
            {"anyOf": [schema.CREATED, {"type": "array", "items": schema.CREATED}]},
        ),
        204: schema.reply("An empty body (`[]`, `{}`, null): nothing created"),
        400: schema.reply(
            "A bad job; for a list, the good jobs are created and each bad one is "
            "`{error}` in its place",
            {
                "anyOf": [
                    schema.ERROR,
                    {"type": "array", "items": {"anyOf": [schema.CREATED, schema.ERROR]}},
                ]
            },
        ),
        **schema.NO_TOKEN,
    },
    openapi_extra=schema.body(
        schema.JOB_BODY,
        {"type": "email", "data": {"to": "bob@example.com"}, "options": {"priority": "high"}},
    ),
)
async def post_job(request: Request, queue: QueueDep) -> Response:
    body = create.parse_body(await request.body())
    if create.is_empty(body):
        return Response(status_code=204)
    if isinstance(body, list):
        status, entries = create.create_many(queue, body)
        return JSONResponse(entries, status_code=status)
    return JSONResponse(create.create_one(queue, body))


@router.get(
    "/inactive/{job_id}",
    summary="Restart a job (Kue's UI: its Restart button sends this GET)",
    dependencies=[Depends(token.same_site_only), *CHANGE],
    responses=MOVE | {403: schema.reply("Refused: another site's page sent it", schema.ERROR)},
)
def restart(queue: QueueDep, job_id: JobId) -> dict[str, str]:
    number = params.job_id(job_id)
    if not moves.set_state(queue, number, "inactive"):
        raise _missing(number)
    return {"message": f"job {number} inactive"}


@router.get(
    "/session",
    summary="Is a token required for changes, and does this client send it?",
    responses={200: schema.reply("", {"type": "object"})},
)
def session(request: Request) -> dict[str, bool]:
    return token.session_state(request)


@router.post(
    "/session",
    summary="Sign in with the token: sets an HttpOnly, SameSite=Strict session cookie",
    status_code=204,
    responses={
        204: schema.reply("Signed in (or no token is required)"),
        400: schema.BAD[400],
        401: schema.reply("Wrong token", schema.ERROR),
    },
    openapi_extra=schema.body(schema.SESSION_BODY),
)
async def sign_in(request: Request) -> Response:
    given = create.parse_body(await request.body())
    value = given.get("token") if isinstance(given, dict) else None
    if not isinstance(value, str) or len(value) > 1000:
        raise ApiError(400, 'send {"token": "..."}')
    return await token.sign_in(request, value)


@router.delete("/session", summary="Sign out", status_code=204)
def sign_out() -> Response:
    return token.sign_out()
