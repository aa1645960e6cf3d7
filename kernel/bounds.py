"""The bounds of every number and string a service takes from a request, defined once.

A value the database cannot store must be refused at the edge as 422, not reach SQLite (which
raises OverflowError past 2**63 - 1) or PostgreSQL (which raises a data error past an INTEGER
column's 2**31 - 1) and come back as a 500. The types below carry their bounds into the OpenAPI
schema, so clients and fuzzers see them too; use them for path, query and body fields alike:

    def read_fine(fine_id: RowId, ...)                           # a path parameter
    limit: Annotated[PageSize, Query()] = 50                     # a query parameter
    class PaymentOrder(BaseModel): amount_cents: Cents           # a body field
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from annotated_types import Interval
from pydantic import AfterValidator, AwareDatetime, StringConstraints

# The largest value of a PostgreSQL INTEGER column: what SQLModel makes of an ``int`` field
# (row ids, amounts, quantities). SQLite's INTEGER is wider; the narrower bound holds for both.
INT32_MAX = 2**31 - 1
# The largest integer a JSON number carries exactly (RFC 8259 §6, IEEE 754 double): positions in
# the transparency log (BIGINT on PostgreSQL) are bounded by it so every client reads them exactly.
JSON_SAFE_MAX = 2**53 - 1
# One million yuan in fen: far above any fine, fee or prescription, and within INTEGER columns.
MAX_CENTS = 100_000_000

# The most rows one page of a list answers: every list a service serves is paged, so what a request
# costs does not grow with what is stored (issue 17).
MAX_PAGE_SIZE = 100
PageSize = Annotated[int, Interval(ge=1, le=MAX_PAGE_SIZE)]

# A database row's id (autoincremented INTEGER primary key): fines, slots, credit records.
RowId = Annotated[int, Interval(ge=1, le=INT32_MAX)]
# An amount of money in fen (1/100 yuan).
Cents = Annotated[int, Interval(ge=0, le=MAX_CENTS)]
# A position in the transparency log (an entry's index or a tree size; from 0, the log answers 400
# where a size must be positive).
LogIndex = Annotated[int, Interval(ge=0, le=JSON_SAFE_MAX)]

# An identifier or reference the caller names (a booking, a prescription, a payment, a subject, a
# department's reference): longer than any the services issue, short enough to never matter.
MAX_REFERENCE_LENGTH = 200
Reference = Annotated[str, StringConstraints(min_length=1, max_length=MAX_REFERENCE_LENGTH)]
# A short free-text field (a name, a reason, a purpose) and a long one (an address, a URL).
ShortText = Annotated[str, StringConstraints(max_length=200)]
LongText = Annotated[str, StringConstraints(max_length=2000)]

# Days and instants a caller names (a day to list slots for, a consent's end, a log's window): within
# these years, a time zone or a day's span away from them never leaves Python's calendar (years
# 1–9999), where converting 0001-01-01T00:00+08:00 to UTC raised OverflowError, a 500.
FIRST_YEAR, LAST_YEAR = 1900, 9000


def _within_years(value: date) -> date:  # a datetime is a date too
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise ValueError(f"must fall in the years {FIRST_YEAR} to {LAST_YEAR}")
    return value


Day = Annotated[date, AfterValidator(_within_years)]
Instant = Annotated[datetime, AfterValidator(_within_years)]
AwareInstant = Annotated[AwareDatetime, AfterValidator(_within_years)]
