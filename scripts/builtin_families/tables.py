"""Families over dicts and matrices: building dicts, querying dicts, matrix operations."""

from __future__ import annotations

from .spec import MEDIUM, TEST, Family, Fn

D = "d: dict[str, int]"
D_K = "d: dict[str, int], k: int"
WORDS = "words: list[str]"
MATRIX = "matrix: list[list[int]]"

WORD_INPUTS = [
    "[]",
    "['x']",
    "['to', 'be', 'or', 'not', 'to', 'be']",
    "['a', 'a', 'a']",
    "['Hi', 'hi']",
]
DICT_INPUTS = ["{}", "{'x': 0}", "{'a': -3, 'b': 4}", "{'p': 7, 'q': 7, 'r': 1}"]
DICT_K_INPUTS = [
    "{}, 5",
    "{'x': 0}, 3",
    "{'a': -3, 'b': 4}, -4",
    "{'a': -3, 'b': 4}, 0",
    "{'p': 7, 'q': 7, 'r': 1}, 10",
]

DICT_BUILD = Family(
    "dict_build",
    params=D,
    returns="dict[str, int]",
    inputs=DICT_INPUTS,
    members=[
        Fn(
            "char_counts",
            "Return a dict mapping each character of s to the number of times it occurs in s.",
            """
            counts = {}
            for c in s:
                counts[c] = counts.get(c, 0) + 1
            return counts
            """,
            [("'abca'", {"a": 2, "b": 1, "c": 1})],
            params="s: str",
            inputs=["''", "'x'", "'hello'", "'aAbB aa'", "'112233'"],
            difficulty=MEDIUM,
        ),
        Fn(
            "word_counts",
            "Return a dict mapping each word in words to the number of times it occurs in words.",
            """
            counts = {}
            for w in words:
                counts[w] = counts.get(w, 0) + 1
            return counts
            """,
            [("['a', 'b', 'a']", {"a": 2, "b": 1})],
            params=WORDS,
            inputs=WORD_INPUTS,
            difficulty=MEDIUM,
        ),
        Fn(
            "word_lengths",
            "Return a dict mapping each word in words to its length.",
            "return {w: len(w) for w in words}",
            [("['hi', 'you']", {"hi": 2, "you": 3})],
            params=WORDS,
            inputs=WORD_INPUTS,
        ),
        Fn(
            "invert_dict",
            "Return a dict mapping each value of d to its key. The values of d are distinct.",
            "return {value: key for key, value in d.items()}",
            [("{'a': 'x', 'b': 'y'}", {"x": "a", "y": "b"})],
            params="d: dict[str, str]",
            returns="dict[str, str]",
            inputs=[
                "{}",
                "{'one': '1'}",
                "{'cat': 'dog', 'dog': 'cat'}",
                "{'red': 'rot', 'blue': 'blau', 'green': 'gruen'}",
            ],
        ),
        Fn(
            "double_values",
            "Return a dict with the keys of d and each value multiplied by 2.",
            "return {key: value * 2 for key, value in d.items()}",
            [("{'a': 1, 'b': 5}", {"a": 2, "b": 10})],
        ),
        Fn(
            "square_values",
            "Return a dict with the keys of d and each value squared.",
            "return {key: value * value for key, value in d.items()}",
            [("{'a': 3, 'b': -2}", {"a": 9, "b": 4})],
            split=TEST,
        ),
        Fn(
            "add_k_to_values",
            "Return a dict with the keys of d and each value increased by k.",
            "return {key: value + k for key, value in d.items()}",
            [("{'a': 1, 'b': 5}, 10", {"a": 11, "b": 15})],
            params=D_K,
            inputs=DICT_K_INPUTS,
        ),
        Fn(
            "keep_values_greater_than_k",
            "Return a dict of the keys and values of d whose value is greater than k.",
            "return {key: value for key, value in d.items() if value > k}",
            [("{'a': 1, 'b': 5, 'c': 3}, 2", {"b": 5, "c": 3})],
            params=D_K,
            inputs=DICT_K_INPUTS,
        ),
        Fn(
            "keep_values_less_than_k",
            "Return a dict of the keys and values of d whose value is less than k.",
            "return {key: value for key, value in d.items() if value < k}",
            [("{'a': 1, 'b': 5, 'c': 3}, 2", {"a": 1})],
            params=D_K,
            inputs=DICT_K_INPUTS,
            split=TEST,
        ),
    ],
)

QUERY_INPUTS = [
    "{'a': 1}",
    "{'x': 3, 'y': -2, 'z': 3}",
    "{'p': -5, 'q': -1}",
    "{'one': 1, 'two': 2, 'three': 3}",
    "{'b': 0, 'a': 10, 'c': 4}",
]
QUERY_K_INPUTS = [
    "{}, 0",
    "{'a': 1}, 1",
    "{'x': 3, 'y': -2, 'z': 3}, 0",
    "{'p': -5, 'q': -1}, -3",
    "{'one': 1, 'two': 2, 'three': 3}, 5",
]

DICT_QUERY = Family(
    "dict_query",
    params=D,
    returns="str",
    inputs=QUERY_INPUTS,
    members=[
        Fn(
            "key_with_max_value",
            "Return the key of d with the largest value (the first such key if there is "
            "a tie). d is not empty.",
            "return max(d, key=d.get)",
            [("{'a': 1, 'b': 7, 'c': 3}", "b")],
        ),
        Fn(
            "key_with_min_value",
            "Return the key of d with the smallest value (the first such key if there is "
            "a tie). d is not empty.",
            "return min(d, key=d.get)",
            [("{'a': 1, 'b': 7, 'c': 3}", "a")],
            split=TEST,
        ),
        Fn(
            "max_value",
            "Return the largest value in d. d is not empty.",
            "return max(d.values())",
            [("{'a': 1, 'b': 7, 'c': 3}", 7)],
            returns="int",
        ),
        Fn(
            "sum_of_values",
            "Return the sum of the values in d.",
            "return sum(d.values())",
            [("{'a': 1, 'b': 7, 'c': 3}", 11)],
            returns="int",
            inputs=["{}", *QUERY_INPUTS],
        ),
        Fn(
            "keys_greater_than_k",
            "Return a list of the keys of d whose value is greater than k, in the order of d.",
            "return [key for key, value in d.items() if value > k]",
            [("{'a': 1, 'b': 7, 'c': 3}, 2", ["b", "c"])],
            params=D_K,
            returns="list[str]",
            inputs=QUERY_K_INPUTS,
        ),
        Fn(
            "keys_less_than_k",
            "Return a list of the keys of d whose value is less than k, in the order of d.",
            "return [key for key, value in d.items() if value < k]",
            [("{'a': 1, 'b': 7, 'c': 3}, 2", ["a"])],
            params=D_K,
            returns="list[str]",
            inputs=QUERY_K_INPUTS,
            split=TEST,
        ),
        Fn(
            "count_values_greater_than_k",
            "Return the number of values in d that are greater than k.",
            "return sum(1 for value in d.values() if value > k)",
            [("{'a': 1, 'b': 7, 'c': 3}, 2", 2)],
            params=D_K,
            returns="int",
            inputs=QUERY_K_INPUTS,
        ),
        Fn(
            "sorted_keys",
            "Return a list of the keys of d in alphabetical order.",
            "return sorted(d)",
            [("{'b': 1, 'c': 2, 'a': 3}", ["a", "b", "c"])],
            returns="list[str]",
        ),
        Fn(
            "keys_sorted_by_value",
            "Return a list of the keys of d ordered by increasing value (keys with equal "
            "values keep their order in d).",
            "return sorted(d, key=d.get)",
            [("{'a': 3, 'b': 1, 'c': 2}", ["b", "c", "a"])],
            returns="list[str]",
            difficulty=MEDIUM,
        ),
    ],
)

SQUARES = [
    "[[5]]",
    "[[1, 2], [3, 4]]",
    "[[1, 2, 3], [4, 5, 6], [7, 8, 9]]",
    "[[0, -1, 2], [3, 9, 1], [-6, 4, 7]]",
    "[[2, 0, 0, 1], [0, 2, 0, 0], [1, 0, 2, 0], [0, 0, 0, 2]]",
]
# Matrices of several shapes; the diagonal members take square ones.
RECTANGLES = [
    "[[5]]",
    "[[1, 2], [3, 4]]",
    "[[1, 2, 3], [4, 5, 6], [7, 8, 9]]",
    "[[-1, 0, 2], [3, -4, 5]]",
    "[[2, 2], [2, 2], [0, -1]]",
]

MATRICES = Family(
    "matrices",
    params=MATRIX,
    returns="list[int]",
    inputs=RECTANGLES,
    members=[
        Fn(
            "row_sums",
            "Return a list of the sums of the rows of matrix.",
            "return [sum(row) for row in matrix]",
            [("[[1, 1], [2, 5]]", [2, 7])],
        ),
        Fn(
            "row_maxes",
            "Return a list of the largest number of each row of matrix.",
            "return [max(row) for row in matrix]",
            [("[[1, 9], [8, 5]]", [9, 8])],
        ),
        Fn(
            "row_mins",
            "Return a list of the smallest number of each row of matrix.",
            "return [min(row) for row in matrix]",
            [("[[1, 9], [8, 5]]", [1, 5])],
            split=TEST,
        ),
        Fn(
            "column_sums",
            "Return a list of the sums of the columns of matrix.",
            "return [sum(row[j] for row in matrix) for j in range(len(matrix[0]))]",
            [("[[1, 1], [2, 5]]", [3, 6])],
        ),
        Fn(
            "column_maxes",
            "Return a list of the largest number of each column of matrix.",
            "return [max(row[j] for row in matrix) for j in range(len(matrix[0]))]",
            [("[[1, 9], [8, 5]]", [8, 9])],
            split=TEST,
        ),
        Fn(
            "diagonal_sum",
            "Return the sum of the main diagonal (top left to bottom right) of the square matrix.",
            "return sum(matrix[i][i] for i in range(len(matrix)))",
            [("[[1, 1], [2, 5]]", 6)],
            returns="int",
            inputs=SQUARES,
        ),
        Fn(
            "anti_diagonal_sum",
            "Return the sum of the anti-diagonal (top right to bottom left) of the square matrix.",
            "return sum(matrix[i][len(matrix) - 1 - i] for i in range(len(matrix)))",
            [("[[1, 1], [2, 5]]", 3)],
            returns="int",
            inputs=SQUARES,
            split=TEST,
        ),
        Fn(
            "matrix_total",
            "Return the sum of all the numbers in matrix.",
            "return sum(sum(row) for row in matrix)",
            [("[[1, 1], [2, 5]]", 9)],
            returns="int",
        ),
        Fn(
            "matrix_max",
            "Return the largest number in matrix.",
            "return max(max(row) for row in matrix)",
            [("[[1, 9], [8, 5]]", 9)],
            returns="int",
        ),
        Fn(
            "transpose",
            "Return the transpose of matrix: row i of the result is column i of matrix.",
            "return [[row[j] for row in matrix] for j in range(len(matrix[0]))]",
            [("[[1, 2, 3], [4, 5, 6]]", [[1, 4], [2, 5], [3, 6]])],
            returns="list[list[int]]",
            difficulty=MEDIUM,
        ),
        Fn(
            "scale_matrix",
            "Return matrix with each number multiplied by k.",
            "return [[x * k for x in row] for row in matrix]",
            [("[[1, 2], [3, 4]], 3", [[3, 6], [9, 12]])],
            params="matrix: list[list[int]], k: int",
            returns="list[list[int]]",
            inputs=[
                "[[5]], 0",
                "[[1, 2], [3, 4]], -1",
                "[[-1, 0, 2], [3, -4, 5]], 2",
                "[[2, 2], [2, 2], [0, -1]], 10",
            ],
        ),
    ],
)

#: The families of this module, in the order they are written out.
FAMILIES = [DICT_BUILD, DICT_QUERY, MATRICES]
