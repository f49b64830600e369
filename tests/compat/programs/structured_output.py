"""Structured outputs: response_format=<pydantic model> gives message.parsed."""
# expect: parsed type: MovieReview
from typing import List

from pydantic import BaseModel, Field

import ell


class MovieReview(BaseModel):
    title: str = Field(description="The title of the movie")
    rating: int = Field(description="The rating of the movie out of 10")
    summary: str = Field(description="A brief summary of the movie")
    tags: List[str] = Field(description="Short genre tags")


@ell.complex(model="gpt-4o-2024-08-06", response_format=MovieReview)
def generate_movie_review(movie: str) -> MovieReview:
    """You are a movie review generator. Given the name of a movie, you need to return a structured review."""
    return f"Generate a review for the movie {movie}"


if __name__ == "__main__":
    message = generate_movie_review("The Matrix")
    review = message.parsed
    print("parsed type:", type(review).__name__)
    assert isinstance(review, MovieReview)
    assert isinstance(review.rating, int) and isinstance(review.tags, list)
    print("fields:", sorted(review.model_dump()))
    print("content block parsed:", type(message.content[0].parsed).__name__)
    print("json roundtrip ok:", MovieReview.model_validate_json(review.model_dump_json()) == review)
