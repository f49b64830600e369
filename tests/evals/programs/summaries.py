# ell-ai 0.0.17 examples/evals/summaries.py; adapted: each dataset text is cut to its first sentence.
from collections import UserDict
import time
import random
from typing import Any, Dict, Iterable, Optional, Protocol, List, Union
import ell
import ell.evaluation
import numpy as np

import ell.lmp.function


dataset = [
    {
        "input": {  # I really don't like this. Forcing "input" without typing feels disgusting.
            "text": "The Industrial Revolution was a period of major industrialization and innovation that took place during the late 1700s and early 1800s."
        },
        "expected_output": "A comprehensive summary of the Industrial Revolution",
    },
    {
        "input": {
            "text": "The human genome is the complete set of nucleic acid sequences for humans, encoded as DNA within the 23 chromosome pairs in cell nuclei and in a small DNA molecule found within individual mitochondria."
        },
        "expected_output": "A detailed summary of the human genome and its significance",
    },
    {
        "input": {
            "text": "Climate change refers to long-term shifts in global weather patterns and average temperatures."
        },
        "expected_output": "A comprehensive overview of climate change, its causes, effects, and potential solutions",
    },
    {
        "input": {
            "text": "Artificial Intelligence (AI) refers to the simulation of human intelligence in machines that are programmed to think and learn like humans."
        },
        "expected_output": "A comprehensive explanation of Artificial Intelligence, its subfields, applications, and implications",
    },
]

@ell.simple(model="gpt-4o", temperature=0.1)
def critic(text_to_summarize: str, ai_produced_summary: str):
    """
        You are a critic of summaries. You are given a text and a summary of that text. You should evaluate the summary for how well it captures the main points of the text.

    Criterion:
    - Summary should be shorter than the original text. Do not give it a score above 50 if it is longer.
    - The best scoring summaries should be one sentence.
    - Summary should capture the main points of the text
    - Summary should be accurate
    - Summary should be concise

        Return a score between 0 and 100 for how well the summary captures the main points of the text. Your answer should be in the following format:
        Analysis:\\n<analysis of quality>\\nScore:\\n<score>
    """

    return f"""Text to summarize:
    {text_to_summarize}
    
    Summary:
    {ai_produced_summary}
    """

@ell.lmp.function.function()
def score(datapoint, output, n_retries=3):
    for _ in range(n_retries):
        try:
            critique = critic(datapoint["input"]["text"], output)
            # print(critique)
            score = int(critique.split("Score:")[1].strip())
            return score
        except Exception as e:
            print(f"Error: {e}")
            continue
    raise Exception("Failed to score")

# named criteria are interesting, allows anonymous functions &  specific isntantiation of functional criteria (partial(...))
eval = ell.evaluation.Evaluation(
    name="test",
    dataset=dataset,
    samples_per_datapoint=1,
    metrics={"score": score, "length": lambda _, output: len(output)},
)
# this means
# we get metrics like "test-score", test-length etc.

# Now we prompt shit
@ell.simple(model="gpt-4o")
def summarizer(text: str):
    """You are a succinct summarizer. You are given a text and you should return a summary of the text. It should be no longer than 5 sentence. Focus on capturing the main points of the text as best as possible"""
    return f"Summarize the following text. {text}"

ell.init(verbose=True, store="./logdir")

# Using GPT-4o
print("EVAL WITH GPT-4o")
result = eval.run(summarizer, n_workers=10, verbose=False).results
print("Mean critic score:", result.metrics["score"].mean())
print("Mean length of completions:", result.metrics["length"].mean())

# Using gpt-4o-mini
print("EVAL WITH GPT-4o-mini")
result = eval.run(
    summarizer,
    n_workers=1,
    api_params={"model": "gpt-4o-mini"},
    verbose=False,
).results
print("Mean critic score:", result.metrics["score"].mean())
print("Mean length of completions:", result.metrics["length"].mean())

# Define named functions for criteria
def score_criterion(datapoint, output, n_retries=3):
    for _ in range(n_retries):
        try:
            critique = critic(datapoint["input"]["text"], output)
            score = int(critique.split("Score:")[1].strip())
            return score
        except Exception as e:
            print(f"Error: {e}")
            continue
    raise Exception("Failed to score")

def length_criterion(_, output):
    return len(output)

# Example using a list of criteria
eval_list = ell.evaluation.Evaluation(
    name="test_list",
    dataset=dataset,
    metrics=[score_criterion, length_criterion],
)

# Example using a dictionary of criteria (as before)
eval_dict = ell.evaluation.Evaluation(
    name="test_dict",
    dataset=dataset,
    metrics={"score": score_criterion, "length": length_criterion},
)

# Run evaluation with list-based criteria
print("EVAL WITH GPT-4o (list-based criteria)")
results = eval_list.run(summarizer, n_workers=4, verbose=False).results
print("Mean critic score:", results.metrics["score_criterion"].mean())
print("Mean length of completions:", results.metrics["length_criterion"].mean())

# Run evaluation with dict-based criteria
print("EVAL WITH GPT-4o (dict-based criteria)")
results = eval_dict.run(summarizer, n_workers=4, verbose=False).results
print("Mean critic score:", results.metrics["score"].mean())
print("Mean length of completions:", results.metrics["length"].mean())


