"""Families that restructure lists: slicing, running values, two lists, unordered results."""

from __future__ import annotations

from .spec import MEDIUM, TEST, Family, Fn

NUMS = "nums: list[int]"
NUMS_K = "nums: list[int], k: int"
A_B = "a: list[int], b: list[int]"

SLICE_K_INPUTS = [
    "[], 2",
    "[7], 0",
    "[1, 2, 3], 1",
    "[1, 2, 3], 7",
    "[4, 8, 15, 16, 23, 42], 4",
]

SLICING = Family(
    "slicing",
    params=NUMS,
    returns="list[int]",
    inputs=["[]", "[7]", "[1, 2]", "[4, 8, 15, 16, 23, 42]", "[-1, 0, 1, 2, 3]"],
    members=[
        Fn(
            "rotate_left",
            "Return nums rotated left by one position (the first item moves to the end).",
            "return nums[1:] + nums[:1]",
            [("[1, 2, 3, 4]", [2, 3, 4, 1])],
        ),
        Fn(
            "rotate_right",
            "Return nums rotated right by one position (the last item moves to the front).",
            "return nums[-1:] + nums[:-1]",
            [("[1, 2, 3, 4]", [4, 1, 2, 3])],
        ),
        Fn(
            "rotate_left_by_k",
            "Return nums rotated left by k positions, where k >= 0.",
            """
            if not nums:
                return []
            k = k % len(nums)
            return nums[k:] + nums[:k]
            """,
            [("[1, 2, 3, 4, 5], 2", [3, 4, 5, 1, 2])],
            params=NUMS_K,
            inputs=SLICE_K_INPUTS,
            difficulty=MEDIUM,
        ),
        Fn(
            "rotate_right_by_k",
            "Return nums rotated right by k positions, where k >= 0.",
            """
            if not nums:
                return []
            k = k % len(nums)
            return nums[-k:] + nums[:-k]
            """,
            [("[1, 2, 3, 4, 5], 2", [4, 5, 1, 2, 3])],
            params=NUMS_K,
            inputs=SLICE_K_INPUTS,
            difficulty=MEDIUM,
            split=TEST,
        ),
        Fn(
            "reverse_list",
            "Return the items of nums in reverse order.",
            "return nums[::-1]",
            [("[1, 2, 3]", [3, 2, 1])],
        ),
        Fn(
            "even_positions",
            "Return the items of nums at even indices (0, 2, 4, ...).",
            "return nums[::2]",
            [("[10, 20, 30, 40, 50]", [10, 30, 50])],
        ),
        Fn(
            "odd_positions",
            "Return the items of nums at odd indices (1, 3, 5, ...).",
            "return nums[1::2]",
            [("[10, 20, 30, 40, 50]", [20, 40])],
            split=TEST,
        ),
        Fn(
            "first_k",
            "Return the first k items of nums (all of them if nums is shorter), where k >= 0.",
            "return nums[:k]",
            [("[5, 6, 7, 8], 2", [5, 6])],
            params=NUMS_K,
            inputs=SLICE_K_INPUTS,
        ),
        Fn(
            "drop_first_k",
            "Return nums without its first k items (empty if nums is shorter), where k >= 0.",
            "return nums[k:]",
            [("[5, 6, 7, 8], 2", [7, 8])],
            params=NUMS_K,
            inputs=SLICE_K_INPUTS,
        ),
    ],
)

RUNNING_PAIRWISE = Family(
    "running_pairwise",
    params=NUMS,
    returns="list[int]",
    inputs=["[]", "[5]", "[3, 1, 4, 1, 5]", "[-2, 7, -8, 0]", "[2, 2, 3, 10]"],
    members=[
        Fn(
            "running_sum",
            "Return a list whose i-th item is the sum of nums[0] to nums[i].",
            """
            result = []
            for x in nums:
                result.append(x if not result else result[-1] + x)
            return result
            """,
            [("[1, 2, 3, 4]", [1, 3, 6, 10])],
            difficulty=MEDIUM,
        ),
        Fn(
            "running_product",
            "Return a list whose i-th item is the product of nums[0] to nums[i].",
            """
            result = []
            for x in nums:
                result.append(x if not result else result[-1] * x)
            return result
            """,
            [("[1, 2, 3, 4]", [1, 2, 6, 24])],
            difficulty=MEDIUM,
        ),
        Fn(
            "running_max",
            "Return a list whose i-th item is the largest of nums[0] to nums[i].",
            """
            result = []
            for x in nums:
                result.append(x if not result else max(result[-1], x))
            return result
            """,
            [("[3, 1, 4, 1, 5]", [3, 3, 4, 4, 5])],
            difficulty=MEDIUM,
        ),
        Fn(
            "running_min",
            "Return a list whose i-th item is the smallest of nums[0] to nums[i].",
            """
            result = []
            for x in nums:
                result.append(x if not result else min(result[-1], x))
            return result
            """,
            [("[3, 1, 4, 0, 5]", [3, 1, 1, 0, 0])],
            difficulty=MEDIUM,
            split=TEST,
        ),
        Fn(
            "pairwise_differences",
            "Return a list of the differences nums[i + 1] - nums[i] of neighbouring items.",
            "return [nums[i + 1] - nums[i] for i in range(len(nums) - 1)]",
            [("[1, 4, 9, 16]", [3, 5, 7])],
        ),
        Fn(
            "pairwise_sums",
            "Return a list of the sums nums[i] + nums[i + 1] of neighbouring items.",
            "return [nums[i] + nums[i + 1] for i in range(len(nums) - 1)]",
            [("[1, 4, 9, 16]", [5, 13, 25])],
        ),
        Fn(
            "pairwise_products",
            "Return a list of the products nums[i] * nums[i + 1] of neighbouring items.",
            "return [nums[i] * nums[i + 1] for i in range(len(nums) - 1)]",
            [("[1, 4, 9, 16]", [4, 36, 144])],
            split=TEST,
        ),
        Fn(
            "pairwise_max",
            "Return a list of the larger of nums[i] and nums[i + 1] for neighbouring items.",
            "return [max(nums[i], nums[i + 1]) for i in range(len(nums) - 1)]",
            [("[1, 5, 2, 3]", [5, 5, 3])],
        ),
        Fn(
            "count_increases",
            "Return how many items of nums are greater than the item before them.",
            "return sum(1 for i in range(len(nums) - 1) if nums[i + 1] > nums[i])",
            [("[1, 5, 2, 3]", 2)],
            returns="int",
        ),
        Fn(
            "count_decreases",
            "Return how many items of nums are less than the item before them.",
            "return sum(1 for i in range(len(nums) - 1) if nums[i + 1] < nums[i])",
            [("[1, 5, 2, 3, 0]", 2)],
            returns="int",
        ),
    ],
)

SAME_LENGTH = "a and b have the same length."

TWO_LISTS = Family(
    "two_lists",
    params=A_B,
    returns="list[int]",
    inputs=[
        "[], []",
        "[0], [5]",
        "[1, 2, 3], [4, 5, 6]",
        "[-2, 7, 3], [-2, 1, 9]",
        "[10, 0, -5, 4], [3, 0, 5, 4]",
    ],
    members=[
        Fn(
            "elementwise_sum",
            f"Return a list whose i-th item is a[i] + b[i]. {SAME_LENGTH}",
            "return [x + y for x, y in zip(a, b)]",
            [("[1, 2], [10, 20]", [11, 22])],
        ),
        Fn(
            "elementwise_difference",
            f"Return a list whose i-th item is a[i] - b[i]. {SAME_LENGTH}",
            "return [x - y for x, y in zip(a, b)]",
            [("[5, 7], [1, 2]", [4, 5])],
        ),
        Fn(
            "elementwise_product",
            f"Return a list whose i-th item is a[i] * b[i]. {SAME_LENGTH}",
            "return [x * y for x, y in zip(a, b)]",
            [("[1, 2, 3], [4, 5, 6]", [4, 10, 18])],
        ),
        Fn(
            "elementwise_max",
            f"Return a list whose i-th item is the larger of a[i] and b[i]. {SAME_LENGTH}",
            "return [max(x, y) for x, y in zip(a, b)]",
            [("[1, 8, 3], [4, 2, 6]", [4, 8, 6])],
        ),
        Fn(
            "elementwise_min",
            f"Return a list whose i-th item is the smaller of a[i] and b[i]. {SAME_LENGTH}",
            "return [min(x, y) for x, y in zip(a, b)]",
            [("[1, 8, 3], [4, 2, 6]", [1, 2, 3])],
            split=TEST,
        ),
        Fn(
            "dot_product",
            f"Return the sum of a[i] * b[i] over all positions i. {SAME_LENGTH}",
            "return sum(x * y for x, y in zip(a, b))",
            [("[1, 2, 3], [4, 5, 6]", 32)],
            returns="int",
        ),
        Fn(
            "count_equal_positions",
            f"Return the number of positions i where a[i] == b[i]. {SAME_LENGTH}",
            "return sum(1 for x, y in zip(a, b) if x == y)",
            [("[1, 2, 3], [1, 5, 3]", 2)],
            returns="int",
        ),
        Fn(
            "count_greater_positions",
            f"Return the number of positions i where a[i] > b[i]. {SAME_LENGTH}",
            "return sum(1 for x, y in zip(a, b) if x > y)",
            [("[4, 2, 3], [1, 5, 3]", 1)],
            returns="int",
            split=TEST,
        ),
        Fn(
            "items_in_both",
            "Return a list of the items of a that also occur in b, in the order of a.",
            "return [x for x in a if x in b]",
            [("[1, 2, 3, 4], [4, 2, 8]", [2, 4])],
        ),
        Fn(
            "items_not_in_b",
            "Return a list of the items of a that do not occur in b, in the order of a.",
            "return [x for x in a if x not in b]",
            [("[1, 2, 3, 4], [4, 2, 8]", [1, 3])],
        ),
    ],
)

# Results in any order: graded by ``assert sorted(f(...)) == [...]``.
DISTINCT_INPUTS = ["[]", "[4]", "[3, 3, 3]", "[5, -1, 5, 2, -1]", "[1, 2, 3]"]
UNORDERED = Family(
    "unordered",
    params=A_B,
    returns="list[int]",
    check="sorted",
    inputs=[
        "[], []",
        "[1, 1, 2], []",
        "[5, 3, 1], [1, 3, 5]",
        "[1, 2, 3, 4], [3, 4, 5, 6]",
        "[-1, 0, 0, 7], [7, 8, -1]",
    ],
    members=[
        Fn(
            "distinct_items",
            "Return the distinct numbers of nums, each once, in any order.",
            "return list(set(nums))",
            [("[1, 2, 2, 3, 1]", [1, 2, 3])],
            params=NUMS,
            inputs=DISTINCT_INPUTS,
        ),
        Fn(
            "repeated_items",
            "Return the numbers that occur more than once in nums, each once, in any order.",
            "return list(set(x for x in nums if nums.count(x) > 1))",
            [("[1, 2, 2, 3, 1]", [1, 2])],
            params=NUMS,
            inputs=DISTINCT_INPUTS,
        ),
        Fn(
            "single_items",
            "Return the numbers that occur exactly once in nums, each once, in any order.",
            "return list(set(x for x in nums if nums.count(x) == 1))",
            [("[1, 2, 2, 3, 1]", [3])],
            params=NUMS,
            inputs=DISTINCT_INPUTS,
            split=TEST,
        ),
        Fn(
            "common_items",
            "Return the numbers that occur in both a and b, each once, in any order.",
            "return list(set(a) & set(b))",
            [("[1, 2, 3], [2, 3, 4]", [2, 3])],
        ),
        Fn(
            "items_only_in_a",
            "Return the numbers that occur in a but not in b, each once, in any order.",
            "return list(set(a) - set(b))",
            [("[1, 2, 3], [2, 3, 4]", [1])],
        ),
        Fn(
            "distinct_chars",
            "Return the distinct characters of s, each once, in any order.",
            "return list(set(s))",
            [("'banana'", ["a", "b", "n"])],
            params="s: str",
            returns="list[str]",
            inputs=["''", "'x'", "'hello world'", "'aAbB'", "'112233'"],
            split=TEST,
        ),
    ],
)

#: The families of this module, in the order they are written out.
FAMILIES = [SLICING, RUNNING_PAIRWISE, TWO_LISTS, UNORDERED]
