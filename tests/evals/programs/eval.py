# ell-ai 0.0.17 examples/eval.py; adapted: the dataset texts are cut to their first sentence and the dataset
# of the (never called) test_predictor_evaluation to three datapoints. It uses the API from before 0.0.17
# (criterion=[...], run(samples_per_datapoint=...), result.scores), which ell-ai 0.0.17 itself rejects;
# ell-git accepts it.
from typing import Any, Optional, Protocol, List
import ell
import ell.evaluation
import numpy as np


def test_predictor_evaluation():
    dataset: List[ell.evaluation.Datapoint] = [
        {
            "input": {"question": "What is the capital of france?"},
            "expected_output": "Paris",
        },
        {
            "input": {"question": "What is the capital of italy?"},
            "expected_output": "Rome",
        },
        {"input": {"question": "Hotdog land"}, "expected_output": "Hotdog land"},
    ]

    def is_correct(datapoint, output):
        label = datapoint["expected_output"]
        return float(output.lower() == label.lower())

    eval = ell.evaluation.Evaluation(
        name="test", dataset=dataset, criterion=[is_correct]
    )

    # ell.init(verbose=True, store='./logdir')
    @ell.simple(model="gpt-4o")
    def predict_capital(question: str):
        """
        Answer only with the capital of the country. If hotdog land, answer hotdog land.
        """
        # print(question[0])
        return f"Answer the following question. {question}"

    result = eval.run(predict_capital, n_workers=4)
    print(result.scores.mean())


# def test_llm_critic_evaluation():
dataset: List[ell.evaluation.Datapoint] = [
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

# model output etc. is just the second argument
# XXX: Need to support failure modes in metric computation...
import ell.lmp.function 
@ell.lmp.function.function()
def score(datapoint, output, n_retries=3):
    for _ in range(n_retries):
        try:
            critique = critic(datapoint['input']['text'], output)
            # print(critique)
            score = int(critique.split("Score:")[1].strip())
            return score
        except Exception as e:
            print(f"Error: {e}")
            continue
    raise Exception("Failed to score")

eval = ell.evaluation.Evaluation(
    name="test", dataset=dataset, criterion=[score, lambda _, output: len(output)]
)

# Now we prompt shit
@ell.simple(model="gpt-4o")
def summarizer(text: str):
    """You are a succinct summarizer. You are given a text and you should return a summary of the text. It should be no longer than 5 sentence. Focus on capturing the main points of the text as best as possible"""
    return f"Summarize the following text. {text}"


ell.init(verbose=True, store='./logdir')


# Using GPT-4o
print("EVAL WITH GPT-4o")
result = eval.run(summarizer, samples_per_datapoint=1, n_workers=4, verbose=True)
print(result.scores)
print("Mean critic score:", np.mean(result.scores[:, 0]))
print("Mean length of completions:", np.mean(result.scores[:, 1]))

# Using gpt-4o-mini
print("EVAL WITH GPT-4o-mini")
result = eval.run(summarizer, samples_per_datapoint=1, n_workers=1, 
                  api_params={"model": "gpt-4o-mini"}, verbose=True)
print(result.scores)
print("Mean critic score:", np.mean(result.scores[:, 0]))
print("Mean length of completions:", np.mean(result.scores[:, 1]))
