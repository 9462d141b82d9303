"""Families over one list of integers: sums and counts, maps, filters, predicates, positions."""

from __future__ import annotations

from .spec import MEDIUM, TEST, Family, Fn

NUMS = "nums: list[int]"
NUMS_K = "nums: list[int], k: int"

# Shared hidden-test inputs: empty, one item, and mixes of signs and parities.
LISTS = [
    "[]",
    "[7]",
    "[-4, -1, 0, 3, 8]",
    "[2, 4, 6, 9, 12, 15]",
    "[-9, -6, -5, 10, 21]",
]
LISTS_K = [
    "[], 3",
    "[5], 5",
    "[1, 8, 3, 10, 6], 5",
    "[-2, -7, 4, 0], -3",
    "[9, 12, 15], 0",
]

SUM_COUNT = Family(
    "sum_count",
    params=NUMS,
    returns="int",
    inputs=LISTS,
    members=[
        Fn(
            "sum_even",
            "Return the sum of the even numbers in nums.",
            "return sum(x for x in nums if x % 2 == 0)",
            [("[1, 2, 3, 4]", 6)],
        ),
        Fn(
            "sum_odd",
            "Return the sum of the odd numbers in nums.",
            "return sum(x for x in nums if x % 2 == 1)",
            [("[1, 2, 3, 4, 5]", 9)],
            split=TEST,
        ),
        Fn(
            "sum_positive",
            "Return the sum of the positive numbers in nums.",
            "return sum(x for x in nums if x > 0)",
            [("[3, -1, 4, -5]", 7)],
        ),
        Fn(
            "sum_negative",
            "Return the sum of the negative numbers in nums.",
            "return sum(x for x in nums if x < 0)",
            [("[3, -1, 4, -5]", -6)],
        ),
        Fn(
            "sum_greater_than_k",
            "Return the sum of the numbers in nums that are greater than k.",
            "return sum(x for x in nums if x > k)",
            [("[1, 5, 8, 2], 3", 13)],
            params=NUMS_K,
            inputs=LISTS_K,
        ),
        Fn(
            "sum_less_than_k",
            "Return the sum of the numbers in nums that are less than k.",
            "return sum(x for x in nums if x < k)",
            [("[1, 5, 8, 2], 3", 3)],
            params=NUMS_K,
            inputs=LISTS_K,
        ),
        Fn(
            "count_even",
            "Return the count of the even numbers in nums.",
            "return sum(1 for x in nums if x % 2 == 0)",
            [("[1, 2, 3, 4, 6]", 3)],
            split=TEST,
        ),
        Fn(
            "count_odd",
            "Return the count of the odd numbers in nums.",
            "return sum(1 for x in nums if x % 2 == 1)",
            [("[1, 2, 3, 4, 5]", 3)],
        ),
        Fn(
            "count_positive",
            "Return the count of the positive numbers in nums.",
            "return sum(1 for x in nums if x > 0)",
            [("[3, -1, 4, 0, -5]", 2)],
        ),
        Fn(
            "count_negative",
            "Return the count of the negative numbers in nums.",
            "return sum(1 for x in nums if x < 0)",
            [("[-3, -1, 4, 0, -5]", 3)],
        ),
        Fn(
            "count_greater_than_k",
            "Return the count of the numbers in nums that are greater than k.",
            "return sum(1 for x in nums if x > k)",
            [("[1, 5, 8, 2], 3", 2)],
            params=NUMS_K,
            inputs=LISTS_K,
        ),
        Fn(
            "count_less_than_k",
            "Return the count of the numbers in nums that are less than k.",
            "return sum(1 for x in nums if x < k)",
            [("[1, 5, 8, 2, 0], 3", 3)],
            params=NUMS_K,
            inputs=LISTS_K,
            split=TEST,
        ),
    ],
)

MAP_INPUTS = ["[]", "[0]", "[-3, 5]", "[1, -2, 3, -4, 10]", "[7, 7, 0, -1]"]
MAP_K_INPUTS = ["[], 4", "[0], -2", "[1, -2, 3], 10", "[5, 5, 6], 0", "[-3, 8, 2, 11], 3"]

MAP = Family(
    "map",
    params=NUMS,
    returns="list[int]",
    inputs=MAP_INPUTS,
    members=[
        Fn(
            "double_all",
            "Return a list with each number in nums multiplied by 2.",
            "return [x * 2 for x in nums]",
            [("[1, 2, 3]", [2, 4, 6])],
        ),
        Fn(
            "triple_all",
            "Return a list with each number in nums multiplied by 3.",
            "return [x * 3 for x in nums]",
            [("[1, -2, 5]", [3, -6, 15])],
            split=TEST,
        ),
        Fn(
            "square_all",
            "Return a list with each number in nums squared.",
            "return [x * x for x in nums]",
            [("[1, -2, 3]", [1, 4, 9])],
        ),
        Fn(
            "negate_all",
            "Return a list with each number in nums negated.",
            "return [-x for x in nums]",
            [("[1, -2, 0]", [-1, 2, 0])],
        ),
        Fn(
            "abs_all",
            "Return a list with each number in nums replaced by its absolute value.",
            "return [abs(x) for x in nums]",
            [("[-1, 2, -3]", [1, 2, 3])],
        ),
        Fn(
            "increment_all",
            "Return a list with each number in nums increased by 1.",
            "return [x + 1 for x in nums]",
            [("[1, 2, 3]", [2, 3, 4])],
        ),
        Fn(
            "decrement_all",
            "Return a list with each number in nums decreased by 1.",
            "return [x - 1 for x in nums]",
            [("[5, 0, -2]", [4, -1, -3])],
        ),
        Fn(
            "add_k_to_all",
            "Return a list with each number in nums increased by k.",
            "return [x + k for x in nums]",
            [("[1, 2, 3], 10", [11, 12, 13])],
            params=NUMS_K,
            inputs=MAP_K_INPUTS,
        ),
        Fn(
            "subtract_k_from_all",
            "Return a list with each number in nums decreased by k.",
            "return [x - k for x in nums]",
            [("[10, 20, 5], 5", [5, 15, 0])],
            params=NUMS_K,
            inputs=MAP_K_INPUTS,
            split=TEST,
        ),
        Fn(
            "multiply_all_by_k",
            "Return a list with each number in nums multiplied by k.",
            "return [x * k for x in nums]",
            [("[1, 2, 3], 4", [4, 8, 12])],
            params=NUMS_K,
            inputs=MAP_K_INPUTS,
        ),
    ],
)

FILTER = Family(
    "filter",
    params=NUMS,
    returns="list[int]",
    inputs=LISTS,
    members=[
        Fn(
            "keep_even",
            "Return a list of the even numbers in nums, in their original order.",
            "return [x for x in nums if x % 2 == 0]",
            [("[1, 2, 3, 4]", [2, 4])],
        ),
        Fn(
            "keep_odd",
            "Return a list of the odd numbers in nums, in their original order.",
            "return [x for x in nums if x % 2 == 1]",
            [("[1, 2, 3, 4, 5]", [1, 3, 5])],
            split=TEST,
        ),
        Fn(
            "keep_positive",
            "Return a list of the positive numbers in nums, in their original order.",
            "return [x for x in nums if x > 0]",
            [("[3, -1, 0, 4]", [3, 4])],
        ),
        Fn(
            "keep_negative",
            "Return a list of the negative numbers in nums, in their original order.",
            "return [x for x in nums if x < 0]",
            [("[3, -1, 0, -4]", [-1, -4])],
        ),
        Fn(
            "keep_nonzero",
            "Return a list of the nonzero numbers in nums, in their original order.",
            "return [x for x in nums if x != 0]",
            [("[0, 1, 0, -2]", [1, -2])],
        ),
        Fn(
            "keep_divisible_by_3",
            "Return a list of the numbers in nums that are divisible by 3, in their original order.",
            "return [x for x in nums if x % 3 == 0]",
            [("[3, 4, 6, 7, 9]", [3, 6, 9])],
        ),
        Fn(
            "keep_greater_than_k",
            "Return a list of the numbers in nums that are greater than k, in their original order.",
            "return [x for x in nums if x > k]",
            [("[1, 5, 8, 2], 3", [5, 8])],
            params=NUMS_K,
            inputs=LISTS_K,
        ),
        Fn(
            "keep_less_than_k",
            "Return a list of the numbers in nums that are less than k, in their original order.",
            "return [x for x in nums if x < k]",
            [("[1, 5, 8, 2], 3", [1, 2])],
            params=NUMS_K,
            inputs=LISTS_K,
            split=TEST,
        ),
        Fn(
            "keep_at_least_k",
            "Return a list of the numbers in nums that are greater than or equal to k, "
            "in their original order.",
            "return [x for x in nums if x >= k]",
            [("[1, 5, 3, 2], 3", [5, 3])],
            params=NUMS_K,
            inputs=LISTS_K,
        ),
        Fn(
            "remove_k",
            "Return a list of the numbers in nums that are not equal to k, in their original order.",
            "return [x for x in nums if x != k]",
            [("[1, 2, 1, 3], 1", [2, 3])],
            params=NUMS_K,
            inputs=LISTS_K,
        ),
    ],
)

PREDICATE_INPUTS = [
    "[]",
    "[5]",
    "[2, 4, 4, 8]",
    "[1, 3, 5, 7]",
    "[3, 1, -2, 6]",
    "[9, 6, 6, -2]",
    "[-5, -3, -1]",
]
PREDICATE_K_INPUTS = ["[], 0", "[5], 5", "[5], 4", "[1, 8, 3], 0", "[1, 8, 3], 2", "[-4, -2], -3"]

LIST_PREDICATES = Family(
    "list_predicates",
    params=NUMS,
    returns="bool",
    inputs=PREDICATE_INPUTS,
    members=[
        Fn(
            "all_positive",
            "Return True if every number in nums is positive, else False. "
            "An empty list gives True.",
            "return all(x > 0 for x in nums)",
            [("[1, 2, 3]", True), ("[1, -2, 3]", False)],
        ),
        Fn(
            "all_negative",
            "Return True if every number in nums is negative, else False. "
            "An empty list gives True.",
            "return all(x < 0 for x in nums)",
            [("[-1, -2]", True)],
            split=TEST,
        ),
        Fn(
            "all_even",
            "Return True if every number in nums is even, else False. An empty list gives True.",
            "return all(x % 2 == 0 for x in nums)",
            [("[2, 4, 6]", True), ("[2, 3]", False)],
        ),
        Fn(
            "all_odd",
            "Return True if every number in nums is odd, else False. An empty list gives True.",
            "return all(x % 2 == 1 for x in nums)",
            [("[1, 3, 4]", False)],
        ),
        Fn(
            "any_positive",
            "Return True if at least one number in nums is positive, else False.",
            "return any(x > 0 for x in nums)",
            [("[-1, 0, 2]", True)],
        ),
        Fn(
            "any_negative",
            "Return True if at least one number in nums is negative, else False.",
            "return any(x < 0 for x in nums)",
            [("[1, 0, 2]", False)],
        ),
        Fn(
            "any_even",
            "Return True if at least one number in nums is even, else False.",
            "return any(x % 2 == 0 for x in nums)",
            [("[1, 3, 4]", True)],
            split=TEST,
        ),
        Fn(
            "all_greater_than_k",
            "Return True if every number in nums is greater than k, else False. "
            "An empty list gives True.",
            "return all(x > k for x in nums)",
            [("[5, 6, 7], 4", True)],
            params=NUMS_K,
            inputs=PREDICATE_K_INPUTS,
        ),
        Fn(
            "is_sorted",
            "Return True if the numbers in nums are in increasing order "
            "(equal neighbours allowed), else False.",
            "return all(nums[i] <= nums[i + 1] for i in range(len(nums) - 1))",
            [("[1, 2, 2, 5]", True), ("[3, 1]", False)],
        ),
        Fn(
            "is_sorted_descending",
            "Return True if the numbers in nums are in decreasing order "
            "(equal neighbours allowed), else False.",
            "return all(nums[i] >= nums[i + 1] for i in range(len(nums) - 1))",
            [("[5, 3, 3, 1]", True)],
            split=TEST,
        ),
        Fn(
            "has_duplicates",
            "Return True if some number occurs more than once in nums, else False.",
            "return len(set(nums)) < len(nums)",
            [("[1, 2, 1]", True)],
        ),
    ],
)

POSITION_INPUTS = [
    "[5]",
    "[3, 8, 1, 8, -2]",
    "[-4, -1, 0, 3, 8]",
    "[7, 9, 11]",
    "[2, -6, 4, -6, 2]",
]
FIRST_INPUTS = ["[]", *POSITION_INPUTS]
POSITION_K_INPUTS = ["[], 3", "[3], 3", "[1, 3, 5, 3], 3", "[4, 4, 4], 4", "[1, 2], 7"]

POSITIONS = Family(
    "positions",
    params=NUMS,
    returns="int",
    inputs=FIRST_INPUTS,
    members=[
        Fn(
            "index_of_max",
            "Return the index of the largest number in nums (the first one if it occurs "
            "more than once). nums is not empty.",
            "return nums.index(max(nums))",
            [("[3, 9, 2, 9]", 1)],
            inputs=POSITION_INPUTS,
        ),
        Fn(
            "index_of_min",
            "Return the index of the smallest number in nums (the first one if it occurs "
            "more than once). nums is not empty.",
            "return nums.index(min(nums))",
            [("[3, 1, 2, 1]", 1)],
            inputs=POSITION_INPUTS,
            split=TEST,
        ),
        Fn(
            "index_of_first_even",
            "Return the index of the first even number in nums, or -1 if there is none.",
            """
            for i, x in enumerate(nums):
                if x % 2 == 0:
                    return i
            return -1
            """,
            [("[1, 3, 4, 6]", 2), ("[1, 3]", -1)],
            difficulty=MEDIUM,
        ),
        Fn(
            "index_of_first_odd",
            "Return the index of the first odd number in nums, or -1 if there is none.",
            """
            for i, x in enumerate(nums):
                if x % 2 == 1:
                    return i
            return -1
            """,
            [("[2, 4, 5, 7]", 2)],
            difficulty=MEDIUM,
            split=TEST,
        ),
        Fn(
            "index_of_first_negative",
            "Return the index of the first negative number in nums, or -1 if there is none.",
            """
            for i, x in enumerate(nums):
                if x < 0:
                    return i
            return -1
            """,
            [("[3, 0, -2, -5]", 2)],
            difficulty=MEDIUM,
        ),
        Fn(
            "index_of_first_k",
            "Return the index of the first occurrence of k in nums, or -1 if k is not in nums.",
            """
            for i, x in enumerate(nums):
                if x == k:
                    return i
            return -1
            """,
            [("[5, 3, 7, 3], 3", 1)],
            params=NUMS_K,
            inputs=POSITION_K_INPUTS,
            difficulty=MEDIUM,
        ),
        Fn(
            "indices_of_k",
            "Return a list of the indices where k occurs in nums.",
            "return [i for i, x in enumerate(nums) if x == k]",
            [("[5, 3, 7, 3], 3", [1, 3])],
            params=NUMS_K,
            returns="list[int]",
            inputs=POSITION_K_INPUTS,
        ),
        Fn(
            "indices_of_even",
            "Return a list of the indices of the even numbers in nums.",
            "return [i for i, x in enumerate(nums) if x % 2 == 0]",
            [("[1, 2, 4, 7]", [1, 2])],
            returns="list[int]",
        ),
        Fn(
            "indices_of_negative",
            "Return a list of the indices of the negative numbers in nums.",
            "return [i for i, x in enumerate(nums) if x < 0]",
            [("[-1, 2, -4, 7]", [0, 2])],
            returns="list[int]",
        ),
    ],
)

#: The families of this module, in the order they are written out.
FAMILIES = [SUM_COUNT, MAP, FILTER, LIST_PREDICATES, POSITIONS]
