"""The base of every schema built from a stored record.

Fields are read from the record by name (pydantic's ``from_attributes``): a schema lists what it
shows, and nothing copies fields by hand. What a record does not hold as such (a value computed
for a day, a renamed field, a flag from another table) is passed to :meth:`FromRecord.of`.
"""

from __future__ import annotations

from typing import Any, Self

from pydantic import BaseModel, ConfigDict


class FromRecord(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    @classmethod
    def of(cls, record: Any, /, **computed: Any) -> Self:
        """The schema of ``record``; ``computed`` gives the fields it does not hold by name."""
        if not computed:
            return cls.model_validate(record)
        data = {
            name: getattr(record, name)
            for name in cls.model_fields
            if name not in computed and hasattr(record, name)
        }
        return cls.model_validate({**data, **computed})
