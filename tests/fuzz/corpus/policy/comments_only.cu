/* only comments: cublas, dlopen, system(), execl( */ // torch/
int executes_later = 1; /* unterminated