"""Structured output: the model's answer parsed into a pydantic model."""

import os

from pydantic import BaseModel, Field

import ell

ell.init(store=os.environ.get("ELL_STORE", "."), verbose=True)


class MovieReview(BaseModel):
    title: str = Field(description="The movie's title")
    rating: int = Field(description="Rating from 1 to 10")
    summary: str = Field(description="One-sentence summary")


@ell.complex(model="gpt-4o-mini", response_format=MovieReview)
def review(movie: str):
    """You are a concise film critic."""
    return f"Review the movie {movie}."


if __name__ == "__main__":
    parsed: MovieReview = review("Metropolis").parsed
    print(parsed.model_dump_json(indent=2))
