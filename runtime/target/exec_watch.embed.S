/* exec_watch.bpf.o (built beside the generated objects in $(OUT)/bpf), embedded in plainsight. */
	.section .rodata
	.balign 8
	.globl ps_bpf_exec_watch
ps_bpf_exec_watch:
	.incbin "exec_watch.bpf.o"
	.globl ps_bpf_exec_watch_end
ps_bpf_exec_watch_end:
	.section .note.GNU-stack,"",@progbits
