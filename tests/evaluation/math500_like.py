"""MATH500-format problems written for the grader tests (no benchmark data is committed).

Each row has MATH500's fields (problem, solution ending in a boxed answer, answer, subject,
level, unique_id) plus ``wrong``: a hand-made near miss that must grade wrong. Solutions box the
answer the way MATH's authors do (``\\dfrac``, ``\\left(``, units, ``^\\circ``), which often
differs in form from the ``answer`` field, as in the real data.
"""

PROBLEMS = [
    ("Algebra", "What is the value of $\\sqrt{36 \\times \\sqrt{16}}$?",
     "We have $\\sqrt{16} = 4$, so $\\sqrt{36 \\cdot 4} = \\sqrt{144} = \\boxed{12}$.", "12", "14"),
    ("Algebra", "Solve for $x$: $\\frac{x}{3} + 2 = \\frac{20}{3}$.",
     "Subtract 2: $\\frac{x}{3} = \\frac{14}{3}$, so $x = \\boxed{14}$.", "14", "\\frac{14}{3}"),
    ("Prealgebra", "Express $0.\\overline{3} + 0.\\overline{6}$ plus $\\frac{1}{6}$ as a common "
     "fraction.", "$0.\\overline{3} + 0.\\overline{6} = 1$, so the sum is "
     "$\\boxed{\\dfrac{7}{6}}$.", "\\frac{7}{6}", "\\frac{6}{7}"),
    ("Algebra", "Simplify $\\sqrt{50} + \\sqrt{18}$.",
     "$\\sqrt{50} = 5\\sqrt{2}$ and $\\sqrt{18} = 3\\sqrt{2}$, giving $\\boxed{8\\sqrt{2}}$.",
     "8\\sqrt{2}", "8\\sqrt{3}"),
    ("Intermediate Algebra", "Find all $x$ with $x^2 - 5x + 6 \\le 0$. Give your answer in "
     "interval notation.", "The roots are 2 and 3 and the parabola opens upward, so "
     "$x \\in \\boxed{[2,3]}$.", "[2, 3]", "(2, 3)"),
    ("Intermediate Algebra", "For which real $x$ is $\\sqrt{3 - x}$ defined? Use interval "
     "notation.", "We need $3 - x \\ge 0$, so $x \\in \\boxed{(-\\infty, 3]}$.",
     "(-\\infty,3]", "(-\\infty,3)"),
    ("Precalculus", "Convert the point $(0, 3)$ in rectangular coordinates to polar "
     "coordinates $(r, \\theta)$ with $r > 0$ and $0 \\le \\theta < 2\\pi$.",
     "$r = 3$ and the point is on the positive $y$-axis, so the answer is "
     "$\\boxed{\\left( 3, \\frac{\\pi}{2} \\right)}$.", "\\left( 3, \\frac{\\pi}{2} \\right)",
     "\\left( 3, \\pi \\right)"),
    ("Precalculus", "Compute $\\begin{pmatrix} 2 & 3 \\\\ 7 & -1 \\end{pmatrix} "
     "\\begin{pmatrix} 1 \\\\ -5 \\end{pmatrix}$.",
     "The product is $\\boxed{\\begin{pmatrix} -13 \\\\ 12 \\end{pmatrix}}$.",
     "\\begin{pmatrix} -13 \\\\ 12 \\end{pmatrix}", "\\begin{pmatrix} -13 \\\\ 2 \\end{pmatrix}"),
    ("Precalculus", "Find the inverse of $\\begin{pmatrix} 2 & 0 \\\\ 0 & 4 \\end{pmatrix}$.",
     "The inverse of a diagonal matrix inverts its entries: "
     "$\\boxed{\\begin{pmatrix} 1/2 & 0 \\\\ 0 & 1/4 \\end{pmatrix}}$.",
     "\\begin{pmatrix} \\frac{1}{2} & 0 \\\\ 0 & \\frac{1}{4} \\end{pmatrix}",
     "\\begin{pmatrix} 2 & 0 \\\\ 0 & 4 \\end{pmatrix}"),
    ("Geometry", "In triangle $ABC$, $\\angle A = 50^\\circ$ and $\\angle B = 60^\\circ$. "
     "What is the measure of $\\angle C$, in degrees?",
     "The angles sum to $180^\\circ$, so $\\angle C = \\boxed{70^\\circ}$.", "70", "110"),
    ("Precalculus", "Compute $\\arcsin \\frac{1}{2}$. Express your answer in radians.",
     "Since $\\sin \\frac{\\pi}{6} = \\frac{1}{2}$, the answer is $\\boxed{\\frac{\\pi}{6}}$.",
     "\\frac{\\pi}{6}", "\\frac{\\pi}{3}"),
    ("Prealgebra", "Which of the names below is alphabetically first: Evelyn, Luna, Amir?",
     "Alphabetically, A comes first, so the answer is $\\boxed{\\text{Amir}}$.",
     "\\text{Amir}", "\\text{Luna}"),
    ("Algebra", "Which of the following is the graph of $y = -x$? Enter the letter.",
     "A line through the origin with slope $-1$ is graph $\\boxed{\\text{(C)}}$.",
     "\\text{(C)}", "\\text{(A)}"),
    ("Intermediate Algebra", "Find all real roots of $x^3 - 6x^2 + 11x - 6 = 0$, separated "
     "by commas.", "It factors as $(x-1)(x-2)(x-3)$, so the roots are $\\boxed{1, 2, 3}$.",
     "1,2,3", "1,2,4"),
    ("Algebra", "Expand $(x + 2)(x - 3)$.",
     "FOIL gives $x^2 - 3x + 2x - 6 = \\boxed{x^2 - x - 6}$.", "x^2 - x - 6", "x^2 + x - 6"),
    ("Number Theory", "What is the remainder when $2^{10}$ is divided by 7?",
     "$2^3 = 8 \\equiv 1$, so $2^{10} = 2 \\cdot (2^3)^3 \\equiv \\boxed{2} \\pmod 7$.", "2", "4"),
    ("Number Theory", "What is the greatest common divisor of $1729$ and $1768$?",
     "$1768 - 1729 = 39 = 3 \\cdot 13$ and $1729 = 13 \\cdot 133$, so the gcd is $\\boxed{13}$.",
     "13", "39"),
    ("Counting & Probability", "Two fair dice are rolled. What is the probability the sum is "
     "7? Express your answer as a common fraction.",
     "6 of the 36 outcomes sum to 7, so the probability is $\\boxed{\\frac{1}{6}}$.",
     "\\frac{1}{6}", "\\frac{1}{36}"),
    ("Counting & Probability", "How many ways can 3 people be chosen from 8?",
     "$\\binom{8}{3} = \\frac{8 \\cdot 7 \\cdot 6}{6} = \\boxed{56}$.", "56", "336"),
    ("Prealgebra", "What is 15\\% of 80?",
     "$0.15 \\times 80 = \\boxed{12}$.", "12", "1.2"),
    ("Prealgebra", "A shirt costs $\\$20$ and is on sale for 25\\% off. What is the sale price "
     "in dollars?", "The discount is $\\$5$, so the price is $\\boxed{\\$15}$.", "15", "5"),
    ("Algebra", "Evaluate $\\log_2 64$.", "$2^6 = 64$, so $\\log_2 64 = \\boxed{6}$.", "6", "8"),
    ("Intermediate Algebra", "Find the complex number $z$ with $z + 2i = 3 - i$.",
     "$z = 3 - i - 2i = \\boxed{3 - 3i}$.", "3-3i", "3+3i"),
    ("Algebra", "What is the slope of the line $2y = -3x + 4$? Express your answer as a common "
     "fraction.", "Dividing by 2 gives $y = -\\frac{3}{2}x + 2$, so the slope is "
     "$\\boxed{-\\dfrac{3}{2}}$.", "-\\frac{3}{2}", "\\frac{3}{2}"),
    ("Geometry", "A circle has area $49\\pi$. What is its circumference? Express your answer in "
     "terms of $\\pi$.", "$r = 7$, so $C = 2\\pi r = \\boxed{14\\pi}$.", "14\\pi", "7\\pi"),
    ("Algebra", "Find the vertex of the parabola $y = x^2 - 4x + 7$ as an ordered pair.",
     "Completing the square, $y = (x-2)^2 + 3$, so the vertex is $\\boxed{(2,3)}$.",
     "(2,3)", "(3,2)"),
    ("Prealgebra", "Round $3.14159$ to the nearest hundredth.",
     "The thousandths digit is 1, so we round down to $\\boxed{3.14}$.", "3.14", "3.15"),
    ("Number Theory", "What is $1011_2$ in base 10?",
     "$8 + 0 + 2 + 1 = \\boxed{11}$.", "11", "13"),
    ("Intermediate Algebra", "Solve $|x - 1| = 4$ and list the solutions separated by commas.",
     "$x - 1 = \\pm 4$, so $x = \\boxed{-3, 5}$.", "-3, 5", "3, 5"),
    ("Precalculus", "What is $\\cos 60^\\circ$?",
     "From the 30-60-90 triangle, $\\cos 60^\\circ = \\boxed{\\frac12}$.", "\\frac{1}{2}",
     "\\frac{\\sqrt{3}}{2}"),
    ("Algebra", "If $f(x) = 3x + 1$, what is $f^{-1}(x)$?",
     "Solving $y = 3x + 1$ for $x$ gives $f^{-1}(x) = \\boxed{\\frac{x-1}{3}}$.",
     "\\frac{x-1}{3}", "\\frac{x+1}{3}"),
    ("Geometry", "What is the length of the hypotenuse of a right triangle with legs 5 and 12?",
     "$\\sqrt{25 + 144} = \\sqrt{169} = \\boxed{13}$ units.", "13", "17"),
]


def math500_rows() -> list[dict]:
    """The problems as MATH500 rows (``wrong`` kept alongside for the perturbation test)."""
    return [
        {
            "problem": problem,
            "solution": solution,
            "answer": answer,
            "subject": subject,
            "level": 1 + index % 5,
            "unique_id": f"test/{subject.lower().replace(' ', '_')}/{index}.json",
            "wrong": wrong,
        }
        for index, (subject, problem, solution, answer, wrong) in enumerate(PROBLEMS)
    ]
